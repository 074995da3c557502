// Library sets (library/<set>): service accounts lent out one at a time. check-out picks an
// available account, gives it a new password and leases it (ttl, max_ttl); check-in (by the
// borrower unless disable_check_in_enforcement, or library/manage/<set>/check-in) gives it a
// new password again, so the borrower's copy stops working. Each step changes the account's
// entry, the set record and the lease in ONE batch of the embedded directory.

import { randomBytes } from 'node:crypto';
import type { WriteTransaction } from '../../directory/write.js';
import { readConfig, type EngineConfig } from '../engine/config.js';
import { parseBool, parseDuration, type Fields } from '../engine/fields.js';
import { buildChanges, checkName, newPassword, wantsDigits } from '../engine/credentials.js';
import { failed, invalid, notFound } from '../engine/errors.js';
import type { LeaseRecord, Leases } from '../leases/leases.js';
import { listKeys, putMeta, readRecord, scanRecords, type AdminDb } from '../engine/meta.js';
import { ROLE_PREFIX } from '../static/roles.js';
import type { PasswordTarget } from '../targets/index.js';
import { copyAttributes } from '../../directory/write.js';
import { LdapError } from '../../ldap/result.js';

export const LIBRARY_PREFIX = 'library/set/';
const DAY = 86400;
/** The fields a library set's write takes. */
export const LIBRARY_SET_FIELDS: Fields = {
  service_account_names: 'value',
  ttl: 'duration',
  max_ttl: 'duration',
  disable_check_in_enforcement: 'bool',
};

interface Account {
  dn: string;
  available: boolean;
  password: string;
  lease_id?: string;
  borrower?: string;
}

export interface LibrarySet {
  name: string;
  ttl: number;
  max_ttl: number;
  disable_check_in_enforcement: boolean;
  accounts: Record<string, Account>;
}

const names = (v: unknown): string[] => {
  const list = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v.map(String) : [];
  return [...new Set(list.map((s) => s.trim()).filter(Boolean))];
};

export class Library {
  constructor(
    private readonly db: AdminDb,
    private readonly leases: Leases,
    private readonly targets: (cfg: EngineConfig) => PasswordTarget,
    private readonly mount: string,
  ) {}

  read(name: string): Promise<LibrarySet | undefined> {
    return readRecord<LibrarySet>(this.db, LIBRARY_PREFIX + name);
  }

  list(sub: string): Promise<string[]> {
    return listKeys(this.db.dir, LIBRARY_PREFIX, sub);
  }

  view(s: LibrarySet): Record<string, unknown> {
    return {
      service_account_names: Object.keys(s.accounts),
      ttl: s.ttl,
      max_ttl: s.max_ttl,
      disable_check_in_enforcement: s.disable_check_in_enforcement,
    };
  }

  status(s: LibrarySet): Record<string, unknown> {
    return Object.fromEntries(
      Object.entries(s.accounts).map(([n, a]) => [
        n,
        a.available ? { available: true } : { available: false, borrower_accessor: a.borrower ?? '' },
      ]),
    );
  }

  async write(name: string, body: Record<string, unknown>): Promise<void> {
    checkName(name, 'set');
    const cfg = await this.config();
    const old = await this.read(name);
    const s: LibrarySet = old ?? { name, ttl: DAY, max_ttl: DAY, disable_check_in_enforcement: false, accounts: {} };
    if (body.ttl !== undefined) s.ttl = parseDuration(body.ttl, 'ttl');
    if (body.max_ttl !== undefined) s.max_ttl = parseDuration(body.max_ttl, 'max_ttl');
    if (s.ttl > s.max_ttl) throw invalid('ttl cannot be greater than max_ttl');
    if (body.disable_check_in_enforcement !== undefined) {
      s.disable_check_in_enforcement = parseBool(body.disable_check_in_enforcement, 'disable_check_in_enforcement');
    }
    if (body.service_account_names !== undefined) s.accounts = await this.accounts(cfg, name, s, names(body.service_account_names));
    if (!Object.keys(s.accounts).length) throw invalid('service_account_names is required');
    await putMeta(this.db, LIBRARY_PREFIX + name, s);
  }

  async delete(name: string): Promise<void> {
    checkName(name, 'set');
    const s = await this.read(name);
    if (s && Object.values(s.accounts).some((a) => !a.available))
      throw invalid('cannot delete a set with checked-out accounts; check them in first');
    await putMeta(this.db, LIBRARY_PREFIX + name, null);
  }

  /** The accounts of a set: each found in the directory, in no other set; checked-out ones kept. */
  private async accounts(cfg: EngineConfig, set: string, s: LibrarySet, list: string[]): Promise<Record<string, Account>> {
    const target = this.targets(cfg);
    const out: Record<string, Account> = {};
    for (const n of list) {
      const keep = s.accounts[n];
      if (keep) {
        out[n] = keep;
        continue;
      }
      const dns = n.includes('=') ? [n] : cfg.userdn ? await target.findUsers(n) : [];
      if (dns.length !== 1 || !(await target.read(dns[0]!))) {
        throw invalid(
          `service account ${n}: ${cfg.userdn ? `expected one entry with ${cfg.userattr}=${n} under ${cfg.userdn}` : 'no such entry (give a DN or set userdn in config)'}`,
        );
      }
      out[n] = { dn: dns[0]!, available: true, password: '' };
    }
    for (const [n, a] of Object.entries(s.accounts))
      if (!out[n] && !a.available) throw invalid(`${n} is checked out and cannot leave the set`);
    // One manager per account: a static role's rotations would overwrite a lent password.
    const dns = new Set(Object.values(out).map((a) => this.db.dir.normalize(a.dn)));
    for await (const [, role] of scanRecords<{ name: string; dn: string }>(this.db, ROLE_PREFIX)) {
      if (dns.has(this.db.dir.normalize(role.dn))) throw invalid(`${role.dn} is managed by static role "${role.name}"`);
    }
    for await (const [, other] of scanRecords<LibrarySet>(this.db, LIBRARY_PREFIX)) {
      if (other.name === set) continue;
      const dup = Object.keys(out).find((n) => other.accounts[n]);
      if (dup) throw invalid(`${dup} is already in library set "${other.name}"`);
    }
    return out;
  }

  /** Lends the first available account: a new password, the set record and the lease in one batch. */
  async checkOut(name: string, borrower: string, ttlIn: unknown): Promise<{ data: Record<string, unknown>; lease: LeaseRecord }> {
    const cfg = await this.config();
    const s = await this.read(name);
    if (!s) throw notFound(`library set "${name}" not found`);
    const ttl = Math.min(ttlIn === undefined || ttlIn === '' ? s.ttl : parseDuration(ttlIn, 'ttl'), s.max_ttl) || s.ttl;
    return this.db.dir.writer.transaction(async (tx) => {
      const cur = await this.read(name);
      const entry = Object.entries(cur?.accounts ?? {}).find(([, a]) => a.available);
      if (!cur || !entry) throw invalid('no service accounts available for check-out');
      const [account, a] = entry;
      const now = Date.now();
      const lease: LeaseRecord = {
        lease_id: `${this.mount}/library/${name}/check-out/${randomBytes(12).toString('base64url')}`,
        kind: 'library',
        owner: name,
        account,
        issue_time: new Date(now).toISOString(),
        last_renewal: null,
        expire_time: new Date(now + ttl * 1000).toISOString(),
        max_expire_time: new Date(now + s.max_ttl * 1000).toISOString(),
        default_ttl: ttl,
      };
      a.password = await this.rotateIn(tx, cfg, a.dn);
      Object.assign(a, { available: false, lease_id: lease.lease_id, borrower });
      tx.setMeta(LIBRARY_PREFIX + name, this.db.encode(cur));
      this.leases.stage(tx, lease);
      return { data: { service_account_name: account, password: a.password }, lease };
    });
  }

  /** Checks accounts in (all the caller holds when none are named); enforce: only the borrower may. */
  async checkIn(name: string, caller: string, list: unknown, enforce: boolean): Promise<string[]> {
    const cfg = await this.config();
    return this.db.dir.writer.transaction(async (tx) => {
      const s = await this.read(name);
      if (!s) throw notFound(`library set "${name}" not found`);
      const enforced = enforce && !s.disable_check_in_enforcement;
      let want = names(list);
      if (!want.length)
        want = Object.keys(s.accounts).filter((n) => !s.accounts[n]!.available && (!enforced || s.accounts[n]!.borrower === caller));
      for (const n of want) {
        const a = s.accounts[n];
        if (!a) throw invalid(`${n} is not in library set "${name}"`);
        if (a.available) continue;
        if (enforced && a.borrower !== caller) throw invalid(`${n} is checked out by another entity; use library/manage/${name}/check-in`);
        await this.release(tx, cfg, s, n);
      }
      tx.setMeta(LIBRARY_PREFIX + name, this.db.encode(s));
      return want;
    });
  }

  /** The revoker of library leases: the account is checked in. */
  readonly revoke = async (lease: LeaseRecord, tx: WriteTransaction): Promise<void> => {
    const s = await this.read(lease.owner);
    const a = s?.accounts[lease.account ?? ''];
    if (!s || !a || a.lease_id !== lease.lease_id) return;
    await this.release(tx, await this.config(), s, lease.account!, false);
    tx.setMeta(LIBRARY_PREFIX + s.name, this.db.encode(s));
  };

  private async release(tx: WriteTransaction, cfg: EngineConfig, s: LibrarySet, n: string, dropLease = true): Promise<void> {
    const a = s.accounts[n]!;
    a.password = await this.rotateIn(tx, cfg, a.dn);
    if (dropLease && a.lease_id) this.leases.drop(tx, a.lease_id);
    a.available = true;
    delete a.lease_id;
    delete a.borrower;
  }

  /** A new password for the account's entry, staged in tx with the bind account's rights. */
  private async rotateIn(tx: WriteTransaction, cfg: EngineConfig, dn: string): Promise<string> {
    const dir = this.db.dir;
    const ndn = dir.normalize(dn);
    const old = await tx.get(ndn);
    if (!old) throw failed(`service account ${dn} does not exist (it was deleted or renamed)`);
    const password = await newPassword(dir, cfg, '', wantsDigits(cfg, old.attrs));
    const { changes } = await buildChanges(dir, cfg, { dn: old.dn, attrs: old.attrs }, password, false);
    const attrs = copyAttributes(old.attrs);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete attrs[k];
      else attrs[k] = v;
    }
    try {
      tx.update(cfg.binddn, ndn, old, attrs, { as: dir.internalContext(cfg.binddn, 'admin-api').session });
    } catch (err) {
      if (err instanceof LdapError) throw failed(err.message || `LDAP error ${err.code}`);
      throw err;
    }
    return password;
  }

  private async config(): Promise<EngineConfig> {
    const cfg = await readConfig(this.db);
    if (!cfg) throw invalid('the engine is not configured: write config first');
    if (cfg.embedded === false) throw invalid('library sets manage the embedded directory only (config url is external)');
    return cfg;
  }
}
