// Static roles (rotation/role/<name> in the store's meta space): the record and its credential
// state, creating, updating and deleting roles, the views GET returns, and when a role rotates
// next (rotation_period or a cron rotation_schedule). Rotating is rotation.ts's, reached through
// the RoleScheduler interface it implements.

import cron from 'node-cron';
import type { Directory } from '../../directory/directory.js';
import { readConfig, type EngineConfig } from '../engine/config.js';
import { parseBool, parseDuration, str, type Fields } from '../engine/fields.js';
import type { AsteriskCredInfo } from '../engine/asterisk.js';
import { refuseOutbound } from '../engine/asterisk.js';
import { checkFit, checkName, generatingPolicy, wantsDigits } from '../engine/credentials.js';
import { EngineError, invalid, messageOf, notFound } from '../engine/errors.js';
import { putMeta, readRecord, scanRecords, type AdminDb } from '../engine/meta.js';
import type { PasswordTarget } from '../targets/index.js';

export const ROLE_PREFIX = 'rotation/role/';

export interface RoleRecord {
  name: string;
  dn: string;
  username: string;
  rotation_period: number;
  rotation_schedule: string;
  rotation_window: number;
  password_policy: string;
  skip_import_rotation: boolean;
  password: string;
  last_password: string;
  last_vault_rotation: string | null;
  next_vault_rotation: string | null;
  created: string;
  last_error: string;
  last_error_time: string | null;
  next_retry: string | null;
  failures: number;
  /** For an Asterisk credential: the username, realm and auth type it works with (static-cred shows it). */
  asterisk?: AsteriskCredInfo;
}

export function readRole(db: AdminDb, name: string): Promise<RoleRecord | undefined> {
  return readRecord<RoleRecord>(db, ROLE_PREFIX + name);
}

// ---------------------------------------------------------------------------------------------
// scheduling math and bookkeeping

/** When the role rotates next (ignoring retries). */
export function nextRotation(r: RoleRecord): Date | undefined {
  if (r.rotation_schedule) return r.next_vault_rotation ? new Date(r.next_vault_rotation) : undefined;
  const base = Date.parse(r.last_vault_rotation ?? r.created);
  return new Date(base + r.rotation_period * 1000);
}

/** The cron expression's first run after `after`. */
export function nextCron(expr: string, after: Date): Date {
  const task = cron.createTask(expr, () => undefined);
  try {
    const next = task.getNextRuns(5).find((d) => d.getTime() > after.getTime());
    return next ?? task.getNextRun() ?? new Date(after.getTime() + 60_000);
  } finally {
    void task.destroy();
  }
}

function ttl(r: RoleRecord): number {
  const next = nextRotation(r);
  return next ? Math.max(0, Math.round((next.getTime() - Date.now()) / 1000)) : 0;
}

/** A successful rotation's bookkeeping on the role record: the new and previous passwords, when, no error. */
export function markRotated(r: RoleRecord, password: string, asterisk?: AsteriskCredInfo): void {
  const now = new Date();
  if (asterisk) r.asterisk = asterisk;
  else delete r.asterisk;
  r.last_password = r.password;
  r.password = password;
  r.last_vault_rotation = now.toISOString();
  if (r.rotation_schedule) r.next_vault_rotation = nextCron(r.rotation_schedule, now).toISOString();
  r.failures = 0;
  r.last_error = '';
  r.last_error_time = null;
  r.next_retry = null;
}

// ---------------------------------------------------------------------------------------------
// views

function withSchedule(out: Record<string, unknown>, r: RoleRecord): Record<string, unknown> {
  if (r.rotation_schedule) {
    out.rotation_schedule = r.rotation_schedule;
    out.rotation_window = r.rotation_window;
  }
  return out;
}

export function publicRole(r: RoleRecord): Record<string, unknown> {
  const out = withSchedule(
    {
      dn: r.dn,
      username: r.username,
      rotation_period: r.rotation_period,
      last_vault_rotation: r.last_vault_rotation,
      next_vault_rotation: nextRotation(r)?.toISOString() ?? null,
      skip_import_rotation: r.skip_import_rotation,
      password_policy: r.password_policy,
      ttl: ttl(r),
    },
    r,
  );
  return { ...out, last_error: r.last_error, last_error_time: r.last_error_time, next_retry: r.next_retry, failures: r.failures };
}

export function publicCred(r: RoleRecord): Record<string, unknown> {
  const out = {
    dn: r.dn,
    username: r.username,
    password: r.password,
    last_password: r.last_password,
    last_vault_rotation: r.last_vault_rotation,
    rotation_period: r.rotation_period,
    ttl: ttl(r),
    ...(r.asterisk ? { asterisk: r.asterisk } : {}),
  };
  return withSchedule(out, r);
}

// ---------------------------------------------------------------------------------------------
// create, update, delete

/** What role management needs of the rotation scheduler (rotation.ts). */
export interface RoleScheduler {
  /** Runs fn after every earlier job of the role. */
  serial<T>(name: string, fn: () => Promise<T>): Promise<T>;
  rotateRole(name: string, reason: 'create'): Promise<RoleRecord>;
  /** (Re)arms the role's timer. */
  schedule(role: RoleRecord): void;
  /** Disarms the role's timer. */
  cancel(name: string): void;
}

export interface StaticRolesOptions {
  db: AdminDb;
  targets: (cfg: EngineConfig) => PasswordTarget;
  scheduler: RoleScheduler;
}

/** The fields a static role's write takes. */
export const ROLE_FIELDS: Fields = {
  dn: 'string',
  username: 'string',
  rotation_period: 'duration',
  rotation_schedule: 'string',
  rotation_window: 'duration',
  password_policy: 'string',
  skip_import_rotation: 'bool',
};
/** The settings an update changes; the credential state is the rotations'. */
const SETTINGS = ['rotation_period', 'rotation_schedule', 'rotation_window', 'next_vault_rotation', 'password_policy'] as const;

function newRole(name: string, cfg: EngineConfig, now: Date): RoleRecord {
  return {
    name,
    dn: '',
    username: '',
    rotation_period: 0,
    rotation_schedule: '',
    rotation_window: 0,
    password_policy: '',
    skip_import_rotation: cfg.skip_static_role_import_rotation,
    password: '',
    last_password: '',
    last_vault_rotation: null,
    next_vault_rotation: null,
    created: now.toISOString(),
    last_error: '',
    last_error_time: null,
    next_retry: null,
    failures: 0,
  };
}

export class StaticRoles {
  private readonly dir: Directory;
  private readonly db: AdminDb;

  constructor(private readonly opts: StaticRolesOptions) {
    this.db = opts.db;
    this.dir = opts.db.dir;
  }

  /** Creates a role (rotating at once unless skip_import_rotation) or updates its settings. */
  async write(name: string, body: Record<string, unknown>): Promise<void> {
    checkName(name, 'role');
    const cfg = await readConfig(this.db);
    if (!cfg) throw invalid('the engine is not configured: write config first');
    const existing = await readRole(this.db, name);
    const now = new Date();
    const r: RoleRecord = existing ? { ...existing } : newRole(name, cfg, now);
    const dnIn = body.dn !== undefined ? str(body.dn, 'dn').trim() : undefined;
    const userIn = body.username !== undefined ? str(body.username, 'username').trim() : undefined;
    if (existing) {
      if (userIn !== undefined && userIn !== existing.username) throw invalid('cannot update static role username');
      if (dnIn !== undefined && dnIn !== '' && this.dnKey(dnIn) !== this.dnKey(existing.dn))
        throw invalid('cannot update static role distinguished name');
    } else await this.identify(r, cfg, dnIn, userIn);
    applySettings(r, existing, body, now);
    if (existing) await this.update(r);
    else {
      await this.checkDirectoryPolicy(r, cfg);
      await this.create(r);
    }
  }

  /** Forgets the role after any rotation under way (LDAP is not touched, as in Vault). */
  async delete(name: string): Promise<void> {
    checkName(name, 'role');
    await this.opts.scheduler.serial(name, async () => {
      this.opts.scheduler.cancel(name);
      await putMeta(this.db, ROLE_PREFIX + name, null);
    });
  }

  /** A new role's account: dn as given, or found by username; it must exist and have no role yet. */
  private async identify(r: RoleRecord, cfg: EngineConfig, dnIn: string | undefined, userIn: string | undefined): Promise<void> {
    if (!userIn && !dnIn) throw invalid('username is a required field to create a role');
    const target = this.opts.targets(cfg);
    if (dnIn) {
      target.checkDn(dnIn, 'dn');
      r.dn = dnIn;
    } else r.dn = await this.findUser(cfg, target, userIn!);
    r.username = userIn || this.rdnValue(r.dn);
    const found = await target.read(r.dn).catch((err: unknown) => {
      throw invalid(`cannot read ${r.dn}${target.where}: ${messageOf(err)}`);
    });
    if (!found) throw invalid(`entry ${r.dn} does not exist${target.where}`);
    checkFit(this.dir, cfg, r.dn, found.attrs);
    if (cfg.schema === 'asterisk') await refuseOutbound(target, r.dn, found.attrs);
    // One role per account (Vault #123).
    const key = this.dnKey(r.dn);
    for await (const [, other] of scanRecords<RoleRecord>(this.db, ROLE_PREFIX)) {
      if (this.dnKey(other.dn) === key) throw invalid(`${r.dn} is already managed by role "${other.name}"`);
    }
  }

  private async findUser(cfg: EngineConfig, target: PasswordTarget, username: string): Promise<string> {
    if (!cfg.userdn) throw invalid('dn is required (or set userdn in config to search for username)');
    const hits = await target.findUsers(username);
    if (hits.length !== 1) throw invalid(`expected one entry with ${cfg.userattr}=${username} under ${cfg.userdn}, found ${hits.length}`);
    return hits[0]!;
  }

  /**
   * Behind any rotation under way, onto the freshest record: settings change, the credential
   * state (password, last rotation, errors) is never overwritten with a stale copy.
   */
  private async update(r: RoleRecord): Promise<void> {
    const { scheduler } = this.opts;
    await scheduler.serial(r.name, async () => {
      const cur = await readRole(this.db, r.name);
      if (!cur) throw notFound(`role ${r.name} was deleted`);
      for (const k of SETTINGS) (cur as unknown as Record<string, unknown>)[k] = r[k];
      await putMeta(this.db, ROLE_PREFIX + r.name, cur);
      scheduler.schedule(cur);
    });
  }

  /** Stores the role and, unless skip_import_rotation, rotates it; a failed first rotation forgets the role. */
  private async create(r: RoleRecord): Promise<void> {
    const { scheduler } = this.opts;
    await putMeta(this.db, ROLE_PREFIX + r.name, r);
    if (!r.skip_import_rotation) {
      try {
        await scheduler.rotateRole(r.name, 'create');
      } catch (err) {
        await putMeta(this.db, ROLE_PREFIX + r.name, null);
        const kind = err instanceof EngineError ? err.kind : 'failed';
        throw new EngineError(kind, `failed to rotate the password of the new role: ${messageOf(err)}`);
      }
    }
    const stored = await readRole(this.db, r.name);
    if (stored) scheduler.schedule(stored);
  }

  /**
   * The engine's password policy against the directory's for the role's entry: a role whose
   * every rotation the directory would refuse is not created (400, saying why).
   */
  private async checkDirectoryPolicy(r: RoleRecord, cfg: EngineConfig): Promise<void> {
    const target = this.opts.targets(cfg);
    if (!target.checkPolicy) return;
    const found = await target.read(r.dn);
    if (!found) return;
    const policy = await generatingPolicy(this.dir, cfg, r.password_policy, wantsDigits(cfg, found.attrs));
    await target.checkPolicy(r.dn, found.attrs, policy.length);
  }

  /** DN comparison key (the local schema's normalisation; lowercase when it cannot normalise). */
  private dnKey(dn: string): string {
    try {
      return this.dir.normalize(dn);
    } catch {
      return dn.toLowerCase().replace(/\s*,\s*/g, ',');
    }
  }

  private rdnValue(dn: string): string {
    const first = this.dir.parse(dn)[0];
    const ava = Array.isArray(first) ? first[0] : first;
    const v = (ava as { value?: unknown } | undefined)?.value;
    return typeof v === 'string' ? v : dn;
  }
}

/** The body's schedule and policy settings, checked on their own and together. */
function applySettings(r: RoleRecord, existing: RoleRecord | undefined, body: Record<string, unknown>, now: Date): void {
  if (body.skip_import_rotation !== undefined) {
    const v = parseBool(body.skip_import_rotation, 'skip_import_rotation');
    if (existing && v !== existing.skip_import_rotation) throw invalid('skip_import_rotation can only be set when the role is created');
    r.skip_import_rotation = v;
  }
  if (body.password_policy !== undefined) r.password_policy = str(body.password_policy, 'password_policy');
  const hasPeriod = body.rotation_period !== undefined && body.rotation_period !== '' && body.rotation_period !== 0;
  const hasSchedule = body.rotation_schedule !== undefined && body.rotation_schedule !== '';
  if (hasPeriod && hasSchedule) throw invalid('rotation_period and rotation_schedule are mutually exclusive');
  if (hasPeriod) {
    const p = parseDuration(body.rotation_period, 'rotation_period');
    if (p < 5) throw invalid('rotation_period must be 5 seconds or more');
    Object.assign(r, { rotation_period: p, rotation_schedule: '', rotation_window: 0, next_vault_rotation: null });
  } else if (hasSchedule) {
    const expr = str(body.rotation_schedule, 'rotation_schedule').trim();
    if (!cron.validate(expr)) throw invalid(`invalid rotation_schedule: ${expr}`);
    Object.assign(r, { rotation_schedule: expr, rotation_period: 0, next_vault_rotation: nextCron(expr, now).toISOString() });
  }
  if (body.rotation_window !== undefined && body.rotation_window !== '' && body.rotation_window !== 0) {
    if (!r.rotation_schedule) throw invalid('rotation_window is only valid with rotation_schedule');
    const w = parseDuration(body.rotation_window, 'rotation_window');
    if (w < 1) throw invalid('rotation_window must be positive');
    r.rotation_window = w;
  }
  if (!r.rotation_period && !r.rotation_schedule) throw invalid('rotation_period or rotation_schedule is required');
}
