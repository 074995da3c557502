// The OpenLDAP secrets engine, Vault-compatible, managing passwords of entries in the embedded
// directory or on an external LDAP server. This facade wires the parts together and is what the
// HTTP API (api.ts) calls:
//   config.ts       the engine config (rotation/config)
//   roles.ts        static roles (rotation/role/<name>) and their schedules
//   rotation.ts     rotating roles and the bind account: per-role serialisation, retries, timers
//   credentials.ts  password policies (passwordpolicy/<name>), new passwords, the attribute changes
//   targets/        where passwords live: the embedded directory (entry and record in ONE batch
//                   through the write path) or an external server (ldapjs)
//   dynamic.ts      dynamic roles (role/<name>) and their credentials (creds/<name>)
//   library.ts      library sets of service accounts (check-out / check-in)
//   leases.ts       the leases of dynamic credentials and check-outs, revoked on time
//   seal.ts, meta.ts  the records, their secrets sealed under a key outside the database
// All state lives in the store's meta space; errors are EngineErrors with a kind (errors.ts).

import type { Logger } from '../config/logger.js';
import type { Directory } from '../directory/directory.js';
import { CONFIG_KEY, parseConfig, publicConfig, readConfig, type EngineConfig } from './config.js';
import { deletePolicy, generateFromPolicy, POLICY_PREFIX, policyText, putPolicy } from './credentials.js';
import { invalid, messageOf } from './errors.js';
import { AdminDb, listKeys, putMeta } from './meta.js';
import { publicCred, publicRole, readRole, ROLE_PREFIX, StaticRoles, type RoleRecord } from './roles.js';
import { DynamicRoles } from './dynamic.js';
import { Leases } from './leases.js';
import { Library } from './library.js';
import { Rotator, type RotationObserver } from './rotation.js';
import type { Sealer } from './seal.js';
import { targetFor, type PasswordTarget } from './targets/index.js';

export interface EngineOptions {
  dir: Directory;
  log: Logger;
  /** LDAP URLs the server listens on (a config url naming one of them is the embedded directory). */
  ownUrls: () => string[];
  defaultRealm: string;
  /** Seals the secrets of the engine's records. */
  sealer: Sealer;
  /** The mount lease ids start with. */
  mount: string;
  /** Told about every rotation's outcome (metrics). */
  onRotation?: RotationObserver;
}

export class Engine {
  private readonly dir: Directory;
  readonly db: AdminDb;
  private readonly rotator: Rotator;
  private readonly roles: StaticRoles;
  readonly leases: Leases;
  readonly dynamic: DynamicRoles;
  readonly library: Library;

  constructor(private readonly opts: EngineOptions) {
    this.dir = opts.dir;
    this.db = new AdminDb(opts.dir, opts.sealer);
    const targets = (cfg: EngineConfig) => this.targetFor(cfg);
    this.rotator = new Rotator({ db: this.db, log: opts.log, targets, onRotation: opts.onRotation });
    this.roles = new StaticRoles({ db: this.db, targets, scheduler: this.rotator });
    this.leases = new Leases(this.db, opts.log, {
      dynamic: (lease, tx) => this.dynamic.revoke(lease, tx),
      library: (lease, tx) => this.library.revoke(lease, tx),
    });
    this.dynamic = new DynamicRoles(this.db, this.leases, opts.mount);
    this.library = new Library(this.db, this.leases, targets, opts.mount);
  }

  /**
   * Opens every sealed secret (a wrong seal key fails here, before anything is served), seals
   * what is not sealed under the current key, then schedules every stored role.
   */
  async start(): Promise<void> {
    const n = await this.db.resealAll();
    if (n) this.opts.log.info(`admin: sealed the secrets of ${n} record(s) under seal key ${this.db.sealer.keyId}`);
    await this.rotator.start();
    await this.leases.start();
  }

  /** The seal key in use and where it comes from. A running engine is unsealed: start() fails on a wrong key. */
  get sealKey(): { id: string; source: 'env' | 'file' | 'ephemeral' } {
    return { id: this.db.sealer.keyId, source: this.db.sealer.source.kind };
  }

  /** A new seal key: kept beside the old one, every record re-sealed in one batch, then the old key dropped. */
  async rotateSealKey(): Promise<{ key_id: string; resealed: number }> {
    const key_id = this.db.sealer.addKey();
    const resealed = await this.db.resealAll();
    this.db.sealer.dropOldKeys();
    this.opts.log.info(`admin: seal key rotated to ${key_id}; ${resealed} record(s) re-sealed`);
    return { key_id, resealed };
  }

  /** Stops every timer and waits for rotations under way. */
  stop(): Promise<void> {
    this.leases.stop();
    return this.rotator.stop();
  }

  private targetFor(cfg: EngineConfig): PasswordTarget {
    return targetFor(this.dir, cfg, this.opts.ownUrls());
  }

  // config

  getConfig(): Promise<EngineConfig | undefined> {
    return readConfig(this.db);
  }

  publicConfig(c: EngineConfig): Record<string, unknown> {
    return publicConfig(c);
  }

  /** Parses and checks the body onto the stored config; the target checks it and the bind must work. */
  async writeConfig(body: Record<string, unknown>): Promise<void> {
    const c = parseConfig(await this.getConfig(), body, { defaultRealm: this.opts.defaultRealm, ownUrls: this.opts.ownUrls });
    const target = this.targetFor(c);
    target.checkConfig();
    await target.verifyBind().catch((err: unknown) => {
      throw invalid(`error validating binddn/bindpass: ${messageOf(err)}`);
    });
    await putMeta(this.db, CONFIG_KEY, c);
  }

  deleteConfig(): Promise<void> {
    return putMeta(this.db, CONFIG_KEY, null);
  }

  rotateRoot(): Promise<void> {
    return this.rotator.rotateRoot();
  }

  // static roles

  getRole(name: string): Promise<RoleRecord | undefined> {
    return readRole(this.db, name);
  }

  listRoles(sub: string): Promise<string[]> {
    return listKeys(this.dir, ROLE_PREFIX, sub);
  }

  publicRole(r: RoleRecord): Record<string, unknown> {
    return publicRole(r);
  }

  publicCred(r: RoleRecord): Record<string, unknown> {
    return publicCred(r);
  }

  writeRole(name: string, body: Record<string, unknown>): Promise<void> {
    return this.roles.write(name, body);
  }

  deleteRole(name: string): Promise<void> {
    return this.roles.delete(name);
  }

  rotateRole(name: string, reason: 'manual' | 'create' | 'scheduled'): Promise<RoleRecord> {
    return this.rotator.rotateRole(name, reason);
  }

  // password policies

  listPolicies(sub: string): Promise<string[]> {
    return listKeys(this.dir, POLICY_PREFIX, sub);
  }

  getPolicyText(name: string): Promise<string | undefined> {
    return policyText(this.dir, name);
  }

  putPolicy(name: string, text: unknown): Promise<void> {
    return putPolicy(this.db, name, text);
  }

  deletePolicy(name: string): Promise<void> {
    return deletePolicy(this.db, name);
  }

  generateFromPolicy(name: string): Promise<string> {
    return generateFromPolicy(this.dir, name);
  }
}
