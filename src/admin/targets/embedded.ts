// The embedded directory as a password target: reads through the store, searches as the
// administrator, and stores a rotation through the directory's one write path: the entry's
// change (RDN, structural class and full schema checks, access check, modification stamps) and
// the engine's record in ONE transaction, so either both change or neither does.

import { verifyPassword } from '../../access/passwords.js';
import type { Directory } from '../../directory/directory.js';
import { search } from '../../directory/search/index.js';
import { storedEntries } from '../../directory/search/collect.js';
import { checkChange, policyFor, recordChange } from '../../directory/ppolicy.js';
import { copyAttributes, type WriteTransaction } from '../../directory/write.js';
import { searchRequest, type Filter, type SearchEntry, type Session } from '../../ldap/messages.js';
import { LdapError } from '../../ldap/result.js';
import type { EntryRecord } from '../../store/types.js';
import type { EngineConfig } from '../engine/config.js';
import type { Attrs, Changes } from '../engine/changes.js';
import { failed, invalid, messageOf } from '../engine/errors.js';
import { listItems, type PasswordTarget, type Rotation, type TargetEntry } from './target.js';

export class EmbeddedTarget implements PasswordTarget {
  readonly where = '';

  constructor(
    private readonly dir: Directory,
    private readonly cfg: EngineConfig,
  ) {}

  checkConfig(): void {
    const c = this.cfg;
    const schema = this.dir.schema;
    if (c.schema === 'ad' && !schema.attributeType('unicodePwd')) {
      throw invalid('schema "ad" writes unicodePwd, which the loaded schema does not define (this directory is not Active Directory)');
    }
    if (c.schema === 'racf' && (!schema.attributeType('racfPassword') || !schema.attributeType('racfAttributes'))) {
      throw invalid('schema "racf" writes racfPassword and racfAttributes, which the loaded schema does not define');
    }
    this.checkDn(c.binddn, 'binddn');
    if (c.userdn) this.checkDn(c.userdn, 'userdn');
  }

  checkDn(dn: string, field: string): void {
    try {
      this.dir.normalize(dn);
    } catch {
      throw invalid(`${field} is not a valid DN: ${dn}`);
    }
  }

  /** The module's bind: the server administrator (admin.dn/password) or an entry's userPassword. */
  async verifyBind(): Promise<void> {
    const ndn = this.dir.normalize(this.cfg.binddn);
    const given = Buffer.from(this.cfg.bindpass, 'utf8');
    if (ndn === this.dir.adminNdn) {
      if (!(await verifyPassword(this.dir.config.admin.password, given))) throw new Error('invalid credentials for binddn');
      return;
    }
    const rec = await this.dir.store.get(ndn);
    if (!rec) throw new Error(`binddn ${this.cfg.binddn} does not exist`);
    for (const v of rec.attrs['userpassword'] ?? []) if (await verifyPassword(v, given)) return;
    throw new Error('invalid credentials for binddn');
  }

  async read(dn: string): Promise<TargetEntry | undefined> {
    const rec = await this.dir.store.get(this.dir.normalize(dn));
    return rec ? { dn: rec.dn, attrs: rec.attrs } : undefined;
  }

  async findUsers(username: string): Promise<string[]> {
    const filter: Filter = { type: 'equality', attribute: this.cfg.userattr || 'cn', value: Buffer.from(username, 'utf8') };
    return (await this.search(this.cfg.userdn, filter, ['1.1'])).map((e) => e.dn);
  }

  async findReferrers(_dn: string, attrs: readonly string[], value: string): Promise<string[]> {
    const known = attrs.filter((a) => this.dir.schema.attributeType(a));
    if (!known.length) return [];
    const filter: Filter = { type: 'or', filters: known.map((attribute) => ({ type: 'present', attribute })) };
    const want = value.toLowerCase();
    const hits = await this.search(this.dir.config.suffix, filter, [...known]);
    return hits.filter((e) => e.attributes.some((a) => a.values.some((v) => listItems(String(v)).includes(want)))).map((e) => e.dn);
  }

  /** A subtree search as the administrator. */
  private async search(base: string, filter: Filter, attributes: string[]): Promise<SearchEntry[]> {
    const req = searchRequest(base, { filter, attributes });
    const found: SearchEntry[] = [];
    const ctx = this.dir.internalContext(this.dir.config.admin.dn, 'admin-api');
    await search(this.dir, ctx, req, this.dir.normalize(req.base), (e) => void found.push(e), storedEntries);
    return found;
  }

  /**
   * The new password is made (and hashed) from the entry as it is before the write lock; the
   * change is then applied to the entry as the transaction reads it. A change the write path
   * refuses (schema, access) is a failed rotation with the write path's message.
   */
  async rotate(r: Rotation): Promise<void> {
    const { binddn } = this.cfg;
    const ndn = this.dir.normalize(r.dn);
    if (r.account === 'root' && ndn === this.dir.adminNdn) {
      throw invalid(
        `binddn ${binddn} is the server administrator (admin.dn); its password is set in config.yaml or ASTLDAP_ADMIN_PASSWORD and has no entry to rotate. Use a directory account as binddn to rotate it here`,
      );
    }
    await this.verifyBind().catch((err: unknown) => {
      throw failed(`cannot bind as ${binddn}: ${messageOf(err)}`);
    });
    const missing = r.account === 'root' ? `binddn ${r.dn} does not exist` : `entry ${r.dn} does not exist (it was deleted or renamed)`;
    const before = await this.dir.store.get(ndn);
    if (!before) throw failed(missing);
    const changes = await r.changes({ dn: before.dn, attrs: before.attrs }, false);
    // A role's account is written with the bind account's rights; the bind account changes its own.
    const as = r.account === 'role' ? this.dir.internalContext(binddn, 'admin-api').session : undefined;
    await this.dir.writer.transaction(async (tx) => {
      const old = await tx.get(ndn);
      if (!old) throw failed(missing);
      await this.update(tx, ndn, old, changes, as, r.password());
      await r.record(tx);
    });
  }

  /**
   * Stages the entry with the changes applied (null removes an attribute). A new userPassword
   * passes the directory's password policy as the bind account's change of it (slapd's
   * ppolicy checks a Vault rotation the same way) and leaves the policy's state.
   */
  private async update(
    tx: WriteTransaction,
    ndn: string,
    old: EntryRecord,
    changes: Changes,
    as: Session | undefined,
    password: string,
  ): Promise<void> {
    const attrs = copyAttributes(old.attrs);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete attrs[k];
      else attrs[k] = v;
    }
    try {
      const policy = changes['userpassword'] ? await policyFor(this.dir, old.attrs, (n) => tx.get(n)) : undefined;
      if (!policy) {
        tx.update(this.cfg.binddn, ndn, old, attrs, { as });
        return;
      }
      const ctx = this.dir.internalContext(this.cfg.binddn, 'admin-api');
      await checkChange(this.dir, ctx, policy, old, ndn, { session: ctx.session, clear: Buffer.from(password, 'utf8'), oldGiven: false });
      // The bind account needs write access to what it changes, not to the state the policy keeps.
      if (as) this.dir.access.requireWrite(as, old.dn, Object.keys(changes));
      recordChange(this.dir, policy, old, attrs, ndn, ctx.session);
      tx.update(this.cfg.binddn, ndn, old, attrs);
    } catch (err) {
      if (err instanceof LdapError) throw failed(err.message || `LDAP error ${err.code}`);
      throw err;
    }
  }

  /**
   * What the directory's password policy would refuse of every rotation of the entry: passwords
   * shorter (or longer) than it allows, an old password it wants with each change, a reset mark
   * it would leave on every rotated password (the administrator's as binddn). Only a userPassword
   * the rotation writes counts.
   */
  async checkPolicy(dn: string, attrs: Attrs, length: number): Promise<void> {
    if (this.cfg.schema !== 'openldap' && this.cfg.schema !== 'asterisk') return;
    const policy = await policyFor(this.dir, attrs);
    if (!policy) return;
    const session = this.dir.internalContext(this.cfg.binddn, 'admin-api').session;
    const own = this.dir.normalize(dn) === session.bindNdn;
    const refuse = (why: string) => invalid(`the directory's password policy ${policy.dn} for ${dn} would refuse its rotations: ${why}`);
    if (this.dir.isAdmin(session)) {
      // The administrator is held to no check, but its change of another's password is a reset.
      if (policy.mustChange && !own)
        throw refuse("pwdMustChange marks the administrator's change as a reset (pwdReset): the account could only change it");
      return;
    }
    if (policy.checkQuality > 0 && length < policy.minLength) {
      throw refuse(`the engine's password policy makes ${length} characters, pwdMinLength is ${policy.minLength}`);
    }
    if (policy.checkQuality > 0 && policy.maxLength > 0 && length > policy.maxLength) {
      throw refuse(`the engine's password policy makes ${length} characters, pwdMaxLength is ${policy.maxLength}`);
    }
    if (policy.safeModify) throw refuse('pwdSafeModify wants the old password with every change, which a rotation does not give');
    if (!policy.allowUserChange && own) throw refuse('pwdAllowUserChange is FALSE and the bind account changes its own password');
    // pwdMustChange marks only the administrator's changes (above), not the bind account's.
  }
}
