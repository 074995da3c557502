// An external LDAP server as a password target: one bound ldapjs connection per operation
// (ldap-client.ts). Passwords go to the server as given, like Vault (configure the server to
// hash them, e.g. slapd's ppolicy_hash_cleartext).

import type { Writer } from '../../directory/write.js';
import type { EngineConfig } from '../engine/config.js';
import { failed } from '../engine/errors.js';
import { ExternalLdap } from './ldap-client.js';
import { listItems, type PasswordTarget, type Rotation, type TargetEntry } from './target.js';

/** RFC 4515 escaping of a filter value. */
const escapeFilter = (v: string) => v.replace(/[\\*()\0]/g, (ch) => '\\' + ch.charCodeAt(0).toString(16).padStart(2, '0'));

export class ExternalTarget implements PasswordTarget {
  readonly where: string;

  constructor(
    private readonly writer: Writer,
    private readonly cfg: EngineConfig,
  ) {
    this.where = ` on ${cfg.url}`;
  }

  /** The server judges DNs and attributes itself. */
  checkConfig(): void {}

  checkDn(): void {}

  async verifyBind(): Promise<void> {
    await this.connected(async () => undefined);
  }

  read(dn: string): Promise<TargetEntry | undefined> {
    return this.connected((x) => x.read(dn));
  }

  async findUsers(username: string): Promise<string[]> {
    const { userdn, userattr } = this.cfg;
    const hits = await this.connected((x) => x.search(userdn, 'sub', `(${userattr || 'cn'}=${escapeFilter(username)})`, ['1.1']));
    return hits.map((h) => h.dn);
  }

  async findReferrers(dn: string, attrs: readonly string[], value: string): Promise<string[]> {
    const base = dn
      .split(/(?<!\\),/)
      .slice(2)
      .join(',');
    if (!base) return [];
    const filter = `(|${attrs.map((a) => `(${a}=*${escapeFilter(value)}*)`).join('')})`;
    const hits = await this.connected((x) => x.search(base, 'sub', filter, [...attrs]));
    const want = value.toLowerCase();
    return hits.filter((h) => Object.values(h.attrs).some((vs) => vs.some((v) => listItems(v).includes(want)))).map((h) => h.dn);
  }

  /**
   * Modifies the entry there first, then stores the record here. Not one transaction (two
   * systems): if storing failed after the modify, the error is recorded and the next rotation
   * sets a fresh password anyway.
   */
  async rotate(r: Rotation): Promise<void> {
    await this.connected(async (x) => {
      const entry = await x.read(r.dn);
      if (!entry) {
        throw failed(
          r.account === 'root'
            ? `binddn ${r.dn} is not readable${this.where}`
            : `entry ${r.dn} does not exist${this.where} (it was deleted or renamed)`,
        );
      }
      await x.modify(r.dn, await r.changes(entry, true));
    });
    await this.writer.transaction((tx) => r.record(tx));
  }

  /** Runs fn over a bound connection, closing it afterwards. */
  private async connected<T>(fn: (x: ExternalLdap) => Promise<T>): Promise<T> {
    const x = await ExternalLdap.connect(this.cfg);
    try {
      return await fn(x);
    } finally {
      x.close();
    }
  }
}
