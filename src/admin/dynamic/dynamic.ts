// Dynamic roles (role/<name>: creation_ldif, deletion_ldif, rollback_ldif, username_template,
// default_ttl, max_ttl) and their credentials (creds/<name>): a new username and password, the
// creation LDIF rendered with them and applied to the embedded directory together with the lease
// record in ONE batch (so a failed creation leaves nothing: rollback_ldif is kept for Vault
// compatibility and never needed); revoking the lease applies the rendered deletion LDIF.

import { randomBytes } from 'node:crypto';
import { hashPassword } from '../../access/passwords.js';
import type { WriteTransaction } from '../../directory/write.js';
import { readConfig, type EngineConfig } from '../engine/config.js';
import { parseDuration, str, type Fields } from '../engine/fields.js';
import { checkName, newPassword } from '../engine/credentials.js';
import { invalid, notFound } from '../engine/errors.js';
import { applyRecords, parseRecords } from './ldif-apply.js';
import { Leases, type LeaseRecord } from '../leases/leases.js';
import { listKeys, putMeta, readRecord, type AdminDb } from '../engine/meta.js';
import { checkTemplate, render } from './templates.js';

export const DYNAMIC_PREFIX = 'dynamic/role/';
/** Vault's system default and maximum lease TTL (768h). */
export const SYSTEM_TTL = 768 * 3600;
const DEFAULT_USERNAME_TEMPLATE = 'v_{{.DisplayName}}_{{.RoleName}}_{{random 10}}_{{unix_time}}';
const LDIF_FIELDS = ['Username', 'Password', 'PasswordHash', 'DisplayName', 'RoleName'];
/** The fields a dynamic role's write takes. */
export const DYNAMIC_ROLE_FIELDS: Fields = {
  creation_ldif: 'string',
  deletion_ldif: 'string',
  rollback_ldif: 'string',
  username_template: 'string',
  default_ttl: 'duration',
  max_ttl: 'duration',
};

export interface DynamicRole {
  name: string;
  creation_ldif: string;
  deletion_ldif: string;
  rollback_ldif: string;
  username_template: string;
  default_ttl: number;
  max_ttl: number;
}

export interface IssuedCreds {
  data: { username: string; password: string; distinguished_names: string[] };
  lease: LeaseRecord;
}

export class DynamicRoles {
  constructor(
    private readonly db: AdminDb,
    private readonly leases: Leases,
    /** The lease id prefix: <mount>/creds/. */
    private readonly mount: string,
  ) {}

  read(name: string): Promise<DynamicRole | undefined> {
    return readRecord<DynamicRole>(this.db, DYNAMIC_PREFIX + name);
  }

  list(sub: string): Promise<string[]> {
    return listKeys(this.db.dir, DYNAMIC_PREFIX, sub);
  }

  async write(name: string, body: Record<string, unknown>): Promise<void> {
    checkName(name, 'role');
    const old = await this.read(name);
    const r: DynamicRole = old ?? {
      name,
      creation_ldif: '',
      deletion_ldif: '',
      rollback_ldif: '',
      username_template: '',
      default_ttl: 0,
      max_ttl: 0,
    };
    for (const k of ['creation_ldif', 'deletion_ldif', 'rollback_ldif', 'username_template'] as const) {
      if (body[k] !== undefined) r[k] = str(body[k], k);
    }
    if (body.default_ttl !== undefined) r.default_ttl = parseDuration(body.default_ttl, 'default_ttl');
    if (body.max_ttl !== undefined) r.max_ttl = parseDuration(body.max_ttl, 'max_ttl');
    if (!r.creation_ldif.trim()) throw invalid('creation_ldif is required');
    if (!r.deletion_ldif.trim()) throw invalid('deletion_ldif is required');
    if (r.max_ttl && r.default_ttl > r.max_ttl) throw invalid('default_ttl cannot be greater than max_ttl');
    // Templates and LDIF are checked now, with sample values, rather than at creds time.
    for (const k of ['creation_ldif', 'deletion_ldif', 'rollback_ldif'] as const) {
      if (!r[k].trim()) continue;
      checkTemplate(r[k], LDIF_FIELDS);
      parseRecords(render(r[k], Object.fromEntries(LDIF_FIELDS.map((f) => [f, 'x']))), k);
    }
    if (r.username_template) checkTemplate(r.username_template, ['DisplayName', 'RoleName']);
    await putMeta(this.db, DYNAMIC_PREFIX + name, r);
  }

  /** Forgets the role; its outstanding leases stay and are revoked on time (as in Vault). */
  delete(name: string): Promise<void> {
    checkName(name, 'role');
    return putMeta(this.db, DYNAMIC_PREFIX + name, null);
  }

  /** New credentials: the rendered creation LDIF and the lease record in one batch. */
  async issue(name: string, displayName: string, mount = this.mount): Promise<IssuedCreds> {
    const role = await this.read(name);
    if (!role) throw notFound(`role "${name}" not found`);
    const cfg = await this.config();
    const dir = this.db.dir;
    const password = await newPassword(dir, cfg, '', false);
    const username = render(role.username_template || DEFAULT_USERNAME_TEMPLATE, {
      DisplayName: displayName.replace(/[^\w.-]/g, '_'),
      RoleName: name,
    }).slice(0, 64);
    const fields = {
      Username: username,
      Password: password,
      PasswordHash: await hashPassword(Buffer.from(password, 'utf8'), dir.config.passwordScheme),
      DisplayName: displayName,
      RoleName: name,
    };
    const creation = parseRecords(render(role.creation_ldif, fields, true), 'creation_ldif');
    const deletion = render(role.deletion_ldif, fields, true);
    const ttl = Math.min(role.default_ttl || SYSTEM_TTL, role.max_ttl || SYSTEM_TTL);
    const now = Date.now();
    const lease: LeaseRecord = {
      lease_id: `${mount}/creds/${name}/${randomBytes(12).toString('base64url')}`,
      kind: 'dynamic',
      owner: name,
      issue_time: new Date(now).toISOString(),
      last_renewal: null,
      expire_time: new Date(now + ttl * 1000).toISOString(),
      max_expire_time: new Date(now + (role.max_ttl || SYSTEM_TTL) * 1000).toISOString(),
      default_ttl: ttl,
      username,
      password,
      deletion_ldif: deletion,
    };
    await dir.writer.transaction(async (tx) => {
      lease.distinguished_names = await applyRecords(dir, tx, cfg.binddn, creation);
      this.leases.stage(tx, lease);
    });
    return { data: { username, password, distinguished_names: lease.distinguished_names! }, lease };
  }

  /** The revoker of dynamic leases: the rendered deletion LDIF (entries already gone are fine). */
  readonly revoke = async (lease: LeaseRecord, tx: WriteTransaction): Promise<void> => {
    const cfg = await this.config();
    await applyRecords(this.db.dir, tx, cfg.binddn, parseRecords(lease.deletion_ldif ?? '', 'deletion_ldif'), true);
  };

  private async config(): Promise<EngineConfig> {
    const cfg = await readConfig(this.db);
    if (!cfg) throw invalid('the engine is not configured: write config first');
    if (cfg.embedded === false) throw invalid('dynamic roles and library sets manage the embedded directory only (config url is external)');
    return cfg;
  }
}
