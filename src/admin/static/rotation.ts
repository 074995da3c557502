// Rotating passwords: a static role's (manual, on create, on its period or cron schedule) and
// the bind account's (rotate-root). Rotations of one role never overlap (a promise chain per
// role), nor do root rotations; a failed rotation is recorded on the role and retried with
// exponential backoff; one timer per role fires its next rotation or retry. The change itself
// goes to the config's target, which stores it together with the role (or config) record.

import type { Logger } from '../../config/logger.js';
import type { Directory } from '../../directory/directory.js';
import { refuseOutbound, type AsteriskCredInfo } from '../engine/asterisk.js';
import { CONFIG_KEY, readConfig, type EngineConfig } from '../engine/config.js';
import { buildChanges, newPassword, wantsDigits } from '../engine/credentials.js';
import { EngineError, failed, invalid, messageOf, notFound } from '../engine/errors.js';
import { putMeta, scanRecords, type AdminDb } from '../engine/meta.js';
import { markRotated, nextCron, nextRotation, readRole, ROLE_PREFIX, type RoleRecord, type RoleScheduler } from './roles.js';
import type { PasswordTarget } from '../targets/index.js';

const MAX_TIMER = 2 ** 31 - 1;
const RETRY_BASE_MS = 10_000;
const RETRY_MAX_MS = 3600_000;

export type RotationReason = 'manual' | 'create' | 'scheduled';

export interface RotatorOptions {
  db: AdminDb;
  log: Logger;
  targets: (cfg: EngineConfig) => PasswordTarget;
  /** Told about every rotation attempt's outcome (metrics). */
  onRotation?: RotationObserver;
}

/** kind: a static role's rotation or the bind account's (root); ok: whether it succeeded. */
export type RotationObserver = (kind: 'role' | 'root', ok: boolean) => void;

export class Rotator implements RoleScheduler {
  private readonly dir: Directory;
  private readonly db: AdminDb;
  private readonly log: Logger;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private rootChain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: RotatorOptions) {
    this.db = opts.db;
    this.dir = opts.db.dir;
    this.log = opts.log;
  }

  /** Schedules every stored role; overdue ones rotate at once. */
  async start(): Promise<void> {
    for await (const [, role] of scanRecords<RoleRecord>(this.db, ROLE_PREFIX)) this.schedule(role);
  }

  /** Stops every timer and waits for rotations under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.chains.values(), this.rootChain]);
  }

  /** Runs fn after every earlier job of this role: rotations of one role never overlap. */
  serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(name, tail);
    void tail.then(() => {
      if (this.chains.get(name) === tail) this.chains.delete(name);
    });
    return run;
  }

  /** Rotates now (manual or on create); on failure the error is recorded and retried later. */
  rotateRole(name: string, reason: RotationReason): Promise<RoleRecord> {
    return this.serial(name, () => this.rotateNow(name, reason));
  }

  /** Arms the role's timer for its next rotation (or retry); overdue means at once. */
  schedule(role: RoleRecord): void {
    if (this.stopped) return;
    this.cancel(role.name);
    const due = role.failures > 0 && role.next_retry ? new Date(role.next_retry) : nextRotation(role);
    if (!due) return;
    const delay = Math.max(0, due.getTime() - Date.now());
    const timer = setTimeout(
      () => {
        this.timers.delete(role.name);
        if (delay > MAX_TIMER - 1) {
          // Further than a timer reaches: look again then.
          void readRole(this.db, role.name).then((r) => r && this.schedule(r));
          return;
        }
        this.serial(role.name, () => this.rotateNow(role.name, 'scheduled', true)).catch(() => undefined);
      },
      Math.min(delay, MAX_TIMER - 1),
    );
    timer.unref();
    this.timers.set(role.name, timer);
  }

  cancel(name: string): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  /** Rotates the bind account's password (after any root rotation under way). */
  rotateRoot(): Promise<void> {
    const run = this.rootChain.then(() => this.rotateRootOnce());
    run.then(
      () => this.opts.onRotation?.('root', true),
      () => this.opts.onRotation?.('root', false),
    );
    this.rootChain = run.catch(() => undefined);
    return run;
  }

  // ---------------------------------------------------------------------------------------------
  // roles

  private async rotateNow(name: string, reason: RotationReason, dueCheck = false): Promise<RoleRecord> {
    const role = await readRole(this.db, name);
    if (!role) throw invalid(`role doesn't exist: ${name}`);
    if (dueCheck && (await this.notDue(role))) return role;
    try {
      const updated = await this.rotateOnce(role);
      this.opts.onRotation?.('role', true);
      this.log.info(`role ${name}: password rotated (${reason})`);
      this.schedule(updated);
      return updated;
    } catch (err) {
      const msg = messageOf(err);
      this.opts.onRotation?.('role', false);
      this.log.warn(`role ${name}: rotation failed (${reason}): ${msg}`);
      const failedRole = await this.recordFailure(name, msg);
      if (failedRole) this.schedule(failedRole);
      throw err instanceof EngineError ? err : failed(msg);
    }
  }

  /**
   * For a timer that fired: true (the role rescheduled) when nothing is due after all, because
   * someone rotated meanwhile (e.g. a manual rotate-role) or a cron rotation missed its window.
   */
  private async notDue(role: RoleRecord): Promise<boolean> {
    const due = role.failures > 0 && role.next_retry ? new Date(role.next_retry) : nextRotation(role);
    if (due && due.getTime() > Date.now() + 500) {
      this.schedule(role);
      return true;
    }
    if (!role.rotation_schedule || !role.rotation_window || !due || role.failures) return false;
    const late = Date.now() - due.getTime();
    if (late <= role.rotation_window * 1000) return false;
    role.next_vault_rotation = nextCron(role.rotation_schedule, new Date()).toISOString();
    await putMeta(this.db, ROLE_PREFIX + role.name, role);
    this.log.warn(`role ${role.name}: rotation window missed (${Math.round(late / 1000)} s late); next at ${role.next_vault_rotation}`);
    this.schedule(role);
    return true;
  }

  /** One rotation: a new password on the target and, with it, the role's credential state. */
  private async rotateOnce(role: RoleRecord): Promise<RoleRecord> {
    const cfg = await readConfig(this.db);
    if (!cfg) throw failed('the engine is not configured (config was deleted)');
    let password = '';
    let updated: RoleRecord | undefined;
    let asterisk: AsteriskCredInfo | undefined;
    const target = this.opts.targets(cfg);
    await target.rotate({
      dn: role.dn,
      account: 'role',
      password: () => password,
      changes: async (entry, cleartext) => {
        // The entry may have become a trunk's outbound auth since the role was made.
        if (cfg.schema === 'asterisk') await refuseOutbound(target, entry.dn, entry.attrs);
        password = await newPassword(this.dir, cfg, role.password_policy, wantsDigits(cfg, entry.attrs));
        const r = await buildChanges(this.dir, cfg, entry, password, cleartext);
        asterisk = r.asterisk;
        return r.changes;
      },
      record: async (tx) => {
        const cur = await readRole(this.db, role.name);
        if (!cur) throw notFound(`role ${role.name} was deleted`);
        markRotated(cur, password, asterisk);
        tx.setMeta(ROLE_PREFIX + cur.name, this.db.encode(cur));
        updated = cur;
      },
    });
    return updated!;
  }

  /** Records a failed rotation on the role: the error, and when to retry (exponential backoff). */
  private recordFailure(name: string, msg: string): Promise<RoleRecord | undefined> {
    return this.dir.writer.transaction(async (tx) => {
      const r = await readRole(this.db, name);
      if (!r) return undefined;
      r.failures += 1;
      r.last_error = msg;
      r.last_error_time = new Date().toISOString();
      const delay = Math.min(RETRY_BASE_MS * 2 ** (r.failures - 1), RETRY_MAX_MS);
      r.next_retry = new Date(Date.now() + delay).toISOString();
      tx.setMeta(ROLE_PREFIX + name, this.db.encode(r));
      return r;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // root

  private async rotateRootOnce(): Promise<void> {
    const cfg = await readConfig(this.db);
    if (!cfg) throw invalid('the engine is not configured: write config first');
    const target = this.opts.targets(cfg);
    let password = '';
    await target.rotate({
      dn: cfg.binddn,
      account: 'root',
      password: () => password,
      changes: async (entry, cleartext) => {
        password = await newPassword(this.dir, cfg, '', false);
        return (await buildChanges(this.dir, cfg, entry, password, cleartext)).changes;
      },
      record: async (tx) => {
        const cur = await readConfig(this.db);
        if (!cur) throw invalid('the engine is not configured');
        cur.last_bind_password = cur.bindpass;
        cur.bindpass = password;
        cur.last_bind_password_rotation = new Date().toISOString();
        tx.setMeta(CONFIG_KEY, this.db.encode(cur));
      },
    });
    this.log.info(`rotated the password of binddn ${cfg.binddn}${target.where}`);
  }
}
