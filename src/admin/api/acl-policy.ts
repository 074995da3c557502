// Vault ACL policies (sys/policy/:name, sys/policies/acl/:name): the HCL subset Vault documents,
// `path "openldap/static-cred/asterisk-*" { capabilities = ["read"] }` (a trailing `*` is a
// prefix glob, `+` one whole path segment), JSON accepted too; and deciding whether a set of
// policies allows a capability on a path: an exact rule wins over globs, then the longest
// pattern; rules of the same pattern from several policies add up, and `deny` beats everything.

import { PolicyError, tokenize, type Token } from '../engine/hcl.js';

export const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface AclRule {
  pattern: string;
  capabilities: Capability[];
}

function capabilityList(v: unknown, path: string): Capability[] {
  if (!Array.isArray(v)) throw new PolicyError(`path "${path}": capabilities must be a list`);
  for (const c of v) {
    if (!CAPABILITIES.includes(c as Capability)) throw new PolicyError(`path "${path}": invalid capability ${JSON.stringify(c)}`);
  }
  return v as Capability[];
}

/** Parses an ACL policy (HCL or JSON) into its rules. */
export function parseAcl(text: string): AclRule[] {
  const t = text.trim();
  if (!t) throw new PolicyError('missing policy');
  if (t.startsWith('{')) {
    let j: { path?: Record<string, { capabilities?: unknown }> };
    try {
      j = JSON.parse(t) as typeof j;
    } catch (e) {
      throw new PolicyError(`invalid JSON: ${(e as Error).message}`);
    }
    return Object.entries(j.path ?? {}).map(([pattern, body]) => ({ pattern, capabilities: capabilityList(body?.capabilities, pattern) }));
  }
  const toks = tokenize(text);
  let p = 0;
  const next = (): Token => {
    const tok = toks[p++];
    if (!tok) throw new PolicyError('unexpected end of policy');
    return tok;
  };
  const expect = (text: string) => {
    const tok = next();
    if (tok.text !== text) throw new PolicyError(`expected ${text} at offset ${tok.pos}, found ${JSON.stringify(tok.text)}`);
  };
  const rules: AclRule[] = [];
  while (p < toks.length) {
    const kw = next();
    if (kw.kind !== 'ident' || kw.text !== 'path') throw new PolicyError(`expected path at offset ${kw.pos}`);
    const pat = next();
    if (pat.kind !== 'string') throw new PolicyError(`expected a quoted path at offset ${pat.pos}`);
    expect('{');
    let caps: Capability[] = [];
    while (toks[p]?.text !== '}') {
      const key = next();
      expect('=');
      if (key.text === 'capabilities') {
        expect('[');
        const list: string[] = [];
        while (toks[p]?.text !== ']') list.push(next().text);
        p++;
        caps = capabilityList(list, pat.text);
      } else throw new PolicyError(`path "${pat.text}": unsupported setting ${key.text}`);
    }
    p++;
    rules.push({ pattern: pat.text.replace(/^\//, ''), capabilities: caps });
  }
  return rules;
}

/** Whether pattern matches path: `+` is one segment, a trailing `*` any rest. */
function matches(pattern: string, path: string): boolean {
  const glob = pattern.endsWith('*');
  const pat = glob ? pattern.slice(0, -1) : pattern;
  if (!pat.includes('+')) return glob ? path.startsWith(pat) : path === pat;
  const ps = pat.split('/');
  const xs = path.split('/');
  if (glob ? xs.length < ps.length : xs.length !== ps.length) return false;
  for (let i = 0; i < ps.length; i++) {
    const last = i === ps.length - 1;
    if (ps[i] === '+') continue;
    if (last && glob ? !xs[i]!.startsWith(ps[i]!) : xs[i] !== ps[i]) return false;
  }
  return true;
}

/** The capabilities a set of rules grants on path. */
export function capabilitiesOn(rules: AclRule[], path: string): Set<Capability> {
  const hits = rules.filter((r) => matches(r.pattern, path));
  const exact = hits.filter((r) => !r.pattern.endsWith('*') && !r.pattern.includes('+'));
  let chosen = exact;
  if (!chosen.length && hits.length) {
    const best = Math.max(...hits.map((r) => r.pattern.replace(/[+*]/g, '').length));
    chosen = hits.filter((r) => r.pattern.replace(/[+*]/g, '').length === best);
  }
  const caps = new Set(chosen.flatMap((r) => r.capabilities));
  return caps.has('deny') ? new Set() : caps;
}
