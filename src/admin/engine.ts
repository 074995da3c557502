// The OpenLDAP secrets engine, Vault-compatible, managing passwords of entries in the embedded
// directory or on an external LDAP server. This facade wires the parts together and is what the
// HTTP API (api.ts) calls:
//   config.ts       the engine config (rotation/config)
//   roles.ts        static roles (rotation/role/<name>) and their schedules
//   rotation.ts     rotating roles and the bind account: per-role serialisation, retries, timers
//   credentials.ts  password policies (passwordpolicy/<name>), new passwords, the attribute changes
//   targets/        where passwords live: the embedded directory (entry and record in ONE batch
//                   through the write path) or an external server (ldapjs)
// All state lives in the store's meta space; errors are EngineErrors with a kind (errors.ts).

import type { Logger } from '../config/logger.js';
import type { Directory } from '../directory/directory.js';
import { CONFIG_KEY, parseConfig, publicConfig, readConfig, type EngineConfig } from './config.js';
import { deletePolicy, generateFromPolicy, POLICY_PREFIX, policyText, putPolicy } from './credentials.js';
import { invalid, messageOf } from './errors.js';
import { listKeys, putMeta } from './meta.js';
import { publicCred, publicRole, readRole, ROLE_PREFIX, StaticRoles, type RoleRecord } from './roles.js';
import { Rotator, type RotationObserver } from './rotation.js';
import { targetFor, type PasswordTarget } from './targets/index.js';

export interface EngineOptions {
  dir: Directory;
  log: Logger;
  /** LDAP URLs the server listens on (a config url naming one of them is the embedded directory). */
  ownUrls: () => string[];
  defaultRealm: string;
  /** Told about every rotation's outcome (metrics). */
  onRotation?: RotationObserver;
}

export class Engine {
  private readonly dir: Directory;
  private readonly rotator: Rotator;
  private readonly roles: StaticRoles;

  constructor(private readonly opts: EngineOptions) {
    this.dir = opts.dir;
    const targets = (cfg: EngineConfig) => this.targetFor(cfg);
    this.rotator = new Rotator({ dir: opts.dir, log: opts.log, targets, onRotation: opts.onRotation });
    this.roles = new StaticRoles({ dir: opts.dir, targets, scheduler: this.rotator });
  }

  /** Schedules every stored role; overdue ones rotate at once. */
  start(): Promise<void> {
    return this.rotator.start();
  }

  /** Stops every timer and waits for rotations under way. */
  stop(): Promise<void> {
    return this.rotator.stop();
  }

  private targetFor(cfg: EngineConfig): PasswordTarget {
    return targetFor(this.dir, cfg, this.opts.ownUrls());
  }

  // config

  getConfig(): Promise<EngineConfig | undefined> {
    return readConfig(this.dir);
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
    await putMeta(this.dir, CONFIG_KEY, JSON.stringify(c));
  }

  deleteConfig(): Promise<void> {
    return putMeta(this.dir, CONFIG_KEY, null);
  }

  rotateRoot(): Promise<void> {
    return this.rotator.rotateRoot();
  }

  // static roles

  getRole(name: string): Promise<RoleRecord | undefined> {
    return readRole(this.dir, name);
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
    return putPolicy(this.dir, name, text);
  }

  deletePolicy(name: string): Promise<void> {
    return deletePolicy(this.dir, name);
  }

  generateFromPolicy(name: string): Promise<string> {
    return generateFromPolicy(this.dir, name);
  }
}
