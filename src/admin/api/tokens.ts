// Tokens and ACL policies (Vault's token store, the parts a client of this engine uses): the
// root tokens of the config, child tokens made by auth/token/create with policies and a TTL
// (kept only as a SHA-256 of the token, like Vault's salted index: the store hands out none),
// lookup-self, revoke-self, and the ACL policies (acl/<name>) that decide what a token may do.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { capabilitiesOn, parseAcl, type AclRule, type Capability } from './acl-policy.js';
import { parseDuration } from '../engine/fields.js';
import { checkName } from '../engine/credentials.js';
import { invalid, notFound } from '../engine/errors.js';
import { listKeys, putMeta, readRecord, type AdminDb } from '../engine/meta.js';
import { PolicyError } from '../engine/password-policy.js';

const TOKEN_PREFIX = 'token/';
export const ACL_PREFIX = 'acl/';
/** Vault's default max TTL for tokens (32 days). */
const MAX_TTL = 32 * 86400;

export interface TokenRecord {
  accessor: string;
  policies: string[];
  display_name: string;
  creation_time: number;
  /** ISO time, or null for no expiry. */
  expire_time: string | null;
  creation_ttl: number;
  meta: Record<string, string>;
}

/** Who is calling: a root token, or a stored token with its record. */
export interface Caller {
  root: boolean;
  policies: string[];
  accessor: string;
  display_name: string;
  record?: TokenRecord;
  /** The token hash (the store key of a stored token). */
  hash: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Tokens {
  constructor(
    private readonly db: AdminDb,
    private readonly rootTokens: string[],
  ) {}

  /** The caller a token stands for; undefined for an unknown or expired token. */
  async lookup(token: string): Promise<Caller | undefined> {
    const hash = sha256(token);
    if (this.rootTokens.some((t) => same(t, token))) {
      return { root: true, policies: ['root'], accessor: hash.slice(0, 24), display_name: 'root', hash };
    }
    const rec = await readRecord<TokenRecord>(this.db, TOKEN_PREFIX + hash);
    if (!rec) return undefined;
    if (rec.expire_time && Date.parse(rec.expire_time) <= Date.now()) {
      await putMeta(this.db, TOKEN_PREFIX + hash, null);
      return undefined;
    }
    return { root: false, policies: rec.policies, accessor: rec.accessor, display_name: rec.display_name, record: rec, hash };
  }

  /** auth/token/create: policies a subset of the parent's (unless root), a TTL within the parent's. */
  async create(parent: Caller, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const asked = body.policies === undefined ? parent.policies.filter((p) => p !== 'root') : body.policies;
    if (!Array.isArray(asked) || asked.some((p) => typeof p !== 'string')) throw invalid('policies must be a list of names');
    const policies = [...new Set(asked as string[])].sort();
    if (!parent.root && policies.some((p) => !parent.policies.includes(p))) {
      throw invalid('child policies must be subset of parent');
    }
    let ttl = body.ttl === undefined || body.ttl === '' ? MAX_TTL : parseDuration(body.ttl, 'ttl');
    if (ttl <= 0 || ttl > MAX_TTL) ttl = MAX_TTL;
    const parentLeft = parent.record?.expire_time ? Math.floor((Date.parse(parent.record.expire_time) - Date.now()) / 1000) : Infinity;
    ttl = Math.min(ttl, parentLeft);
    const root = policies.includes('root');
    const token = 'hvs.' + randomBytes(24).toString('base64url');
    const rec: TokenRecord = {
      accessor: randomBytes(12).toString('base64url'),
      policies: root ? ['root'] : policies.length ? policies : ['default'],
      display_name: typeof body.display_name === 'string' ? `token-${body.display_name}` : 'token',
      creation_time: Math.floor(Date.now() / 1000),
      expire_time: root ? null : new Date(Date.now() + ttl * 1000).toISOString(),
      creation_ttl: root ? 0 : ttl,
      meta: (typeof body.meta === 'object' && body.meta ? body.meta : {}) as Record<string, string>,
    };
    await putMeta(this.db, TOKEN_PREFIX + sha256(token), rec);
    return {
      client_token: token,
      accessor: rec.accessor,
      policies: rec.policies,
      token_policies: rec.policies,
      metadata: rec.meta,
      lease_duration: rec.creation_ttl,
      renewable: false,
      entity_id: '',
      token_type: 'service',
      orphan: parent.root,
    };
  }

  /** lookup-self's data. */
  view(token: string, c: Caller): Record<string, unknown> {
    const r = c.record;
    const ttl = r?.expire_time ? Math.max(0, Math.round((Date.parse(r.expire_time) - Date.now()) / 1000)) : 0;
    return {
      id: token,
      accessor: c.accessor,
      policies: c.policies,
      display_name: c.display_name,
      creation_time: r?.creation_time ?? 0,
      creation_ttl: r?.creation_ttl ?? 0,
      expire_time: r?.expire_time ?? null,
      ttl,
      meta: r?.meta ?? null,
      num_uses: 0,
      orphan: true,
      path: c.root ? 'auth/token/root' : 'auth/token/create',
      renewable: false,
      type: 'service',
    };
  }

  async revoke(c: Caller): Promise<void> {
    if (c.root) throw invalid('a root token from the server configuration cannot be revoked through the API');
    await putMeta(this.db, TOKEN_PREFIX + c.hash, null);
  }

  /** Whether the caller may use any of caps on path (root: everything). */
  async allows(c: Caller, path: string, caps: Capability[]): Promise<boolean> {
    if (c.root) return true;
    const have = await this.capabilities(c, path);
    return caps.some((cap) => have.has(cap));
  }

  /** What the caller's policies grant on path (a root token: see allows). */
  async capabilities(c: Caller, path: string): Promise<Set<Capability>> {
    const rules: AclRule[] = [];
    for (const name of c.policies) {
      const text = await this.db.dir.store.getMeta(ACL_PREFIX + name);
      if (text) rules.push(...parseAcl(text));
    }
    return capabilitiesOn(rules, path);
  }

  // ACL policies

  async putPolicy(name: string, text: unknown): Promise<void> {
    checkName(name, 'policy');
    if (name === 'root') throw invalid('cannot update "root" policy');
    if (typeof text !== 'string' || !text.trim()) throw invalid("'policy' parameter not supplied or empty");
    try {
      parseAcl(text);
    } catch (err) {
      if (err instanceof PolicyError) throw invalid(`failed to parse policy: ${err.message}`);
      throw err;
    }
    await putMeta(this.db, ACL_PREFIX + name, text);
  }

  async getPolicy(name: string): Promise<string> {
    const text = name === 'root' ? '' : await this.db.dir.store.getMeta(ACL_PREFIX + name);
    if (text === undefined) throw notFound('');
    return text;
  }

  async deletePolicy(name: string): Promise<void> {
    checkName(name, 'policy');
    if (name === 'root' || name === 'default') throw invalid(`cannot delete "${name}" policy`);
    await putMeta(this.db, ACL_PREFIX + name, null);
  }

  async listPolicies(): Promise<string[]> {
    return [...new Set([...(await listKeys(this.db.dir, ACL_PREFIX, '')), 'root'])].sort();
  }
}
