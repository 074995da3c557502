// Runs OpenLDAP's command-line clients (ldap-utils) against a server and turns their output
// into comparable data: an `ldapsearch -LLL` LDIF parser and a canonical form for diffs.

import { spawn } from 'node:child_process';

export type LdapTool = 'ldapsearch' | 'ldapadd' | 'ldapmodify' | 'ldapdelete' | 'ldapmodrdn' | 'ldapcompare' | 'ldapwhoami' | 'ldappasswd';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ToolOptions {
  /** Text written to the tool's standard input (LDIF for ldapadd/ldapmodify, DNs for ldapdelete). */
  stdin?: string;
  timeoutMs?: number;
  /** Extra environment (e.g. LDAPTLS_CACERT) on top of toolEnv. */
  env?: NodeJS.ProcessEnv;
}

/** The environment for every client run: no ldaprc / ldap.conf defaults (BASE, URI, TLS) apply. */
export const toolEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  LDAPNOINIT: '1',
  HOME: '/nonexistent',
  LANG: 'C.UTF-8',
};

/** Runs `tool args...`; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runTool(tool: LdapTool, args: readonly string[], opts: ToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, [...args], { env: { ...toolEnv, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) return reject(new Error(`${tool} ${args.join(' ')} timed out\n${stderr}`));
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the tool may exit before reading everything
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Arguments for a simple bind as `dn` with `password` (or anonymous when dn is undefined). */
export function bindArgs(dn?: string, password?: string): string[] {
  return dn === undefined ? ['-x'] : ['-x', '-D', dn, '-w', password ?? ''];
}

// ---------------------------------------------------------------------------------------------
// LDIF output of ldapsearch -LLL

export interface LdifAttribute {
  /** The name as the server sent it. */
  name: string;
  values: string[];
}

export interface LdifEntry {
  dn: string;
  /** Keyed by the lowercased attribute description. */
  attrs: Map<string, LdifAttribute>;
}

/** Parses `ldapsearch -LLL` output: unfolds continuation lines, decodes `::` base64 values. */
export function parseLdifEntries(text: string): LdifEntry[] {
  const lines: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith(' ') && lines.length > 0 && lines[lines.length - 1] !== '') {
      lines[lines.length - 1] += raw.slice(1);
    } else lines.push(raw);
  }
  const entries: LdifEntry[] = [];
  let current: LdifEntry | undefined;
  for (const line of lines) {
    if (line === '') {
      current = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([^:]+):(:?|<?)\s?(.*)$/.exec(line);
    if (!m) throw new Error(`unparseable LDIF line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    const value = m[2] === ':' ? Buffer.from(m[3]!, 'base64').toString('utf8') : m[3]!;
    if (!current) {
      if (name.toLowerCase() === 'version') continue;
      if (name.toLowerCase() !== 'dn') throw new Error(`LDIF record does not start with dn: ${line}`);
      current = { dn: value, attrs: new Map() };
      entries.push(current);
      continue;
    }
    const key = name.toLowerCase();
    let attr = current.attrs.get(key);
    if (!attr) current.attrs.set(key, (attr = { name, values: [] }));
    attr.values.push(value);
  }
  return entries;
}

/** One value of an attribute, or undefined. */
export function attrValues(entry: LdifEntry, name: string): string[] {
  return entry.attrs.get(name.toLowerCase())?.values ?? [];
}

// ---------------------------------------------------------------------------------------------
// DNs

interface Ava {
  type: string;
  value: string;
}

/** Splits a string DN into RDNs of AVAs, undoing `\,` and `\2C` style escapes. */
export function parseDn(dn: string): Ava[][] {
  const rdns: Ava[][] = [];
  if (dn.trim() === '') return rdns;
  let rdn: Ava[] = [];
  let buf = '';
  let type: string | undefined;
  const bytes: number[] = [];
  const flush = () => {
    if (bytes.length) {
      buf += Buffer.from(bytes).toString('utf8');
      bytes.length = 0;
    }
  };
  const endAva = () => {
    flush();
    if (type === undefined) throw new Error(`bad DN: ${dn}`);
    rdn.push({ type: type.trim(), value: buf.trim() });
    type = undefined;
    buf = '';
  };
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\') {
      const hex = dn.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        flush();
        buf += dn[i + 1] ?? '';
        i += 1;
      }
      continue;
    }
    flush();
    if (type === undefined && c === '=') {
      type = buf;
      buf = '';
    } else if (type !== undefined && (c === ',' || c === ';' || c === '+')) {
      endAva();
      if (c !== '+') {
        rdns.push(rdn);
        rdn = [];
      }
    } else buf += c;
  }
  endAva();
  rdns.push(rdn);
  return rdns;
}

const foldValue = (v: string) => v.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();

/** The DN for sorting and matching: types and values case-folded, spaces collapsed, AVAs sorted. */
export function normalizeDn(dn: string): string {
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map((a) => `${a.type.toLowerCase()}=${foldValue(a.value)}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

/** The DN for display comparisons: escaping style and type case removed, value case kept. */
export function displayDn(dn: string): string {
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map((a) => `${a.type.toLowerCase()}=${a.value}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

// ---------------------------------------------------------------------------------------------
// Canonical form

export interface CanonicalOptions {
  /** Attributes (lowercase) left out entirely. */
  ignore?: readonly string[];
  /** Attributes (lowercase) whose values are replaced by a marker: only their presence counts. */
  presenceOnly?: readonly string[];
  /** When set, only these attributes (lowercase) are kept. */
  only?: readonly string[];
  /** Compare values case-insensitively (for attributes the server may normalise). */
  foldValues?: readonly string[];
}

export type CanonicalEntry = { dn: string; attrs: Record<string, string[]> };

/** Entries sorted by normalised DN; attribute names lowercased; values sorted. */
export function canonicalize(entries: readonly LdifEntry[], opts: CanonicalOptions = {}): CanonicalEntry[] {
  const ignore = new Set(opts.ignore ?? []);
  const presence = new Set(opts.presenceOnly ?? []);
  const only = opts.only ? new Set(opts.only) : undefined;
  const fold = new Set(opts.foldValues ?? []);
  return [...entries]
    .sort((a, b) => cmp(normalizeDn(a.dn), normalizeDn(b.dn)))
    .map((e) => {
      const attrs: Record<string, string[]> = {};
      for (const key of [...e.attrs.keys()].sort()) {
        if (ignore.has(key) || (only && !only.has(key))) continue;
        const values = e.attrs.get(key)!.values;
        if (presence.has(key)) attrs[key] = ['<present>'];
        else if (key === 'objectclass' || fold.has(key)) attrs[key] = values.map((v) => v.toLowerCase()).sort(cmp);
        else attrs[key] = [...values].sort(cmp);
      }
      return { dn: displayDn(e.dn), attrs };
    });
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
