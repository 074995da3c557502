// The OpenLDAP secrets engine, Vault-compatible, managing passwords of entries in the embedded
// directory or on an external LDAP server. This facade wires the parts together and is what the
// HTTP API (../api/) calls:
//   config.ts             the engine config (rotation/config)
//   credentials.ts        password policies (password-policy.ts), new passwords, the attribute changes
//   ../static/            static roles (roles.ts, rotation/role/<name>) and rotating them and the
//                         bind account (rotation.ts: per-role serialisation, retries, timers)
//   ../dynamic/           dynamic roles (role/<name>) and their credentials (creds/<name>)
//   ../library/           library sets of service accounts (check-out / check-in)
//   ../leases/            the leases of dynamic credentials and check-outs, revoked on time
//   ../targets/           where passwords live: the embedded directory (entry and record in ONE
//                         batch through the write path) or an external server (ldapjs)
//   seal.ts, meta.ts      the records, their secrets sealed under a key outside the database
// All state lives in the store's meta space; errors are EngineErrors with a kind (errors.ts).

import type { Logger } from '../../config/logger.js';
import type { Directory } from '../../directory/directory.js';
import { CONFIG_KEY, parseConfig, publicConfig, readConfig, type EngineConfig } from './config.js';
import { deletePolicy, generateFromPolicy, POLICY_PREFIX, policyText, putPolicy } from './credentials.js';
import { invalid, messageOf } from './errors.js';
import { AdminDb, listKeys, putMeta } from './meta.js';
import { publicCred, publicRole, readRole, ROLE_PREFIX, StaticRoles, type RoleRecord } from '../static/roles.js';
import { DynamicRoles } from '../dynamic/dynamic.js';
import { Leases } from '../leases/leases.js';
import { Library } from '../library/library.js';
import { Rotator, type RotationObserver } from '../static/rotation.js';
import type { Sealer } from './seal.js';
import { targetFor, type PasswordTarget } from '../targets/index.js';

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

/** The engine config (config): one record. */
export interface ConfigApi {
  read(): Promise<EngineConfig | undefined>;
  view(c: EngineConfig): Record<string, unknown>;
  write(body: Record<string, unknown>): Promise<void>;
  delete(): Promise<void>;
  rotateRoot(): Promise<void>;
}

/** Static roles (static-role, static-cred, rotate-role). */
export interface StaticRolesApi {
  read(name: string): Promise<RoleRecord | undefined>;
  list(sub: string): Promise<string[]>;
  write(name: string, body: Record<string, unknown>): Promise<void>;
  delete(name: string): Promise<void>;
  view(r: RoleRecord): Record<string, unknown>;
  cred(r: RoleRecord): Record<string, unknown>;
  rotate(name: string, reason: 'manual' | 'create' | 'scheduled'): Promise<RoleRecord>;
}

/** Password policies (sys/policies/password). */
export interface PasswordPoliciesApi {
  list(sub: string): Promise<string[]>;
  text(name: string): Promise<string | undefined>;
  put(name: string, text: unknown): Promise<void>;
  delete(name: string): Promise<void>;
  generate(name: string): Promise<string>;
}

/**
 * Each kind of record the same way: a property with read, list, write and delete (and its own
 * verbs: rotate, issue, checkOut, renew...), which the path table (../api/routes.ts) maps onto HTTP.
 */
export class Engine {
  private readonly dir: Directory;
  readonly db: AdminDb;
  private readonly rotator: Rotator;
  readonly config: ConfigApi;
  readonly staticRoles: StaticRolesApi;
  readonly dynamic: DynamicRoles;
  readonly library: Library;
  readonly leases: Leases;
  readonly passwordPolicies: PasswordPoliciesApi;

  constructor(private readonly opts: EngineOptions) {
    this.dir = opts.dir;
    this.db = new AdminDb(opts.dir, opts.sealer);
    const targets = (cfg: EngineConfig) => this.targetFor(cfg);
    this.rotator = new Rotator({ db: this.db, log: opts.log, targets, onRotation: opts.onRotation });
    const roles = new StaticRoles({ db: this.db, targets, scheduler: this.rotator });
    this.leases = new Leases(this.db, opts.log, {
      dynamic: (lease, tx) => this.dynamic.revoke(lease, tx),
      library: (lease, tx) => this.library.revoke(lease, tx),
    });
    this.dynamic = new DynamicRoles(this.db, this.leases, opts.mount);
    this.library = new Library(this.db, this.leases, targets, opts.mount);
    const { db, dir, rotator } = this;
    this.config = {
      read: () => readConfig(db),
      view: publicConfig,
      write: (body) => this.writeConfig(body),
      delete: () => putMeta(db, CONFIG_KEY, null),
      rotateRoot: () => rotator.rotateRoot(),
    };
    this.staticRoles = {
      read: (name) => readRole(db, name),
      list: (sub) => listKeys(dir, ROLE_PREFIX, sub),
      write: (name, body) => roles.write(name, body),
      delete: (name) => roles.delete(name),
      view: publicRole,
      cred: publicCred,
      rotate: (name, reason) => rotator.rotateRole(name, reason),
    };
    this.passwordPolicies = {
      list: (sub) => listKeys(dir, POLICY_PREFIX, sub),
      text: (name) => policyText(dir, name),
      put: (name, text) => putPolicy(db, name, text),
      delete: (name) => deletePolicy(db, name),
      generate: (name) => generateFromPolicy(dir, name),
    };
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

  /** Parses and checks the body onto the stored config; the target checks it and the bind must work. */
  private async writeConfig(body: Record<string, unknown>): Promise<void> {
    const c = parseConfig(await readConfig(this.db), body, { defaultRealm: this.opts.defaultRealm, ownUrls: this.opts.ownUrls });
    const target = this.targetFor(c);
    target.checkConfig();
    await target.verifyBind().catch((err: unknown) => {
      throw invalid(`error validating binddn/bindpass: ${messageOf(err)}`);
    });
    await putMeta(this.db, CONFIG_KEY, c);
  }
}
