// The LDAP connection of the asterisk commands, with OpenLDAP's tools' options: -H URL
// (ldap://, ldaps://, ldapi://PERCENT-ENCODED-PATH), -D DN with -w PASSWORD or -y FILE (the
// file's complete contents, as ldapadd reads it), or -Y EXTERNAL (over ldapi, the socket's
// owner). A thin wrapper over ldapts that returns entries with lowercased attribute names.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Attribute, Change, Client } from 'ldapts';

export interface ConnectOptions {
  /** -H: default ldap://127.0.0.1:1389, the shipped config's listener. */
  url?: string;
  /** -D */
  bindDn?: string;
  /** -w */
  password?: string;
  /** -y */
  passwordFile?: string;
  /** -Y: only EXTERNAL. */
  saslMech?: string;
}

export interface LdapEntry {
  dn: string;
  /** Lowercased attribute name -> values. */
  attrs: Map<string, string[]>;
  /** Lowercased -> the name the server returned. */
  names: Map<string, string>;
}

export interface Modification {
  operation: 'add' | 'delete' | 'replace';
  type: string;
  values: string[];
}

/** An LDAP result code the server answered with (ldapts' error carries it). */
export const resultCode = (err: unknown): number | undefined =>
  typeof (err as { code?: unknown })?.code === 'number' ? (err as { code: number }).code : undefined;

export const NO_SUCH_OBJECT = 32;

/** RFC 4515 escaping of an assertion value put into a filter string. */
export const escapeFilter = (v: string): string => v.replace(/[\\*()\0]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
const OPERATION_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 30_000;

const RESULT_NAMES: Record<number, string> = {
  16: 'noSuchAttribute',
  17: 'undefinedAttributeType',
  21: 'invalidAttributeSyntax',
  32: 'noSuchObject',
  34: 'invalidDNSyntax',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  64: 'namingViolation',
  65: 'objectClassViolation',
  68: 'entryAlreadyExists',
};

/** An error for a person: the server's message and the result code by name and number. */
export function describeError(err: unknown): string {
  const code = resultCode(err);
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '').trim();
  if (code === undefined) return message;
  return `${message ? message + ' ' : ''}(LDAP result ${code} ${RESULT_NAMES[code] ?? ''})`.replace(' )', ')');
}

export class DirectoryClient {
  private constructor(private readonly client: Client) {}

  static async connect(o: ConnectOptions): Promise<DirectoryClient> {
    const url = o.url ?? 'ldap://127.0.0.1:1389';
    const m = /^ldapi:\/\/([^/?#]*)\/?$/i.exec(url);
    // Generous bounds, so that a stalled server fails the command instead of hanging it.
    const bounds = { timeout: OPERATION_TIMEOUT_MS, connectTimeout: CONNECT_TIMEOUT_MS };
    const client = m
      ? new Client({
          url: 'ldap://localhost',
          ...bounds,
          createConnection: (() => net.connect(decodeURIComponent(m[1]!))) as typeof net.connect,
        })
      : new Client({ url, ...bounds });
    const dc = new DirectoryClient(client);
    try {
      if (o.saslMech) {
        if (o.saslMech.toUpperCase() !== 'EXTERNAL') throw new Error(`-Y ${o.saslMech}: only EXTERNAL is supported`);
        await client.bindSASL('EXTERNAL');
      } else if (o.bindDn) {
        const pw = o.passwordFile !== undefined ? readFileSync(o.passwordFile, 'utf8') : o.password;
        if (pw === undefined) throw new Error(`-D ${o.bindDn} needs -w PASSWORD or -y FILE`);
        await client.bind(o.bindDn, pw);
      } else {
        throw new Error('no identity: give -D DN with -w PASSWORD or -y FILE, or -Y EXTERNAL over ldapi://');
      }
    } catch (err) {
      await dc.close();
      throw err;
    }
    return dc;
  }

  /**
   * The connection is open and still bound as it was. ldapts reconnects by itself, unbound,
   * after the server closes a connection: a long-lived holder (a console session) checks this.
   */
  get bound(): boolean {
    return this.client.isBound;
  }

  /** attributes: the ones wanted (a listing that needs a few columns of many entries asks only those); default all. */
  async search(base: string, filter: string, scope: 'base' | 'one' | 'sub' = 'sub', attributes: string[] = ['*']): Promise<LdapEntry[]> {
    try {
      const { searchEntries } = await this.client.search(base, { scope, filter, attributes });
      return searchEntries.map(toEntry);
    } catch (err) {
      if (resultCode(err) === NO_SUCH_OBJECT) return [];
      throw err;
    }
  }

  async read(dn: string): Promise<LdapEntry | undefined> {
    return (await this.search(dn, '(objectClass=*)', 'base'))[0];
  }

  async add(dn: string, attributes: Array<{ type: string; values: string[] }>): Promise<void> {
    await this.client.add(
      dn,
      attributes.map((a) => new Attribute({ type: a.type, values: a.values })),
    );
  }

  async modify(dn: string, mods: Modification[]): Promise<void> {
    if (!mods.length) return;
    await this.client.modify(
      dn,
      mods.map((m) => new Change({ operation: m.operation, modification: new Attribute({ type: m.type, values: m.values }) })),
    );
  }

  async del(dn: string): Promise<void> {
    await this.client.del(dn);
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }
}

function toEntry(e: Record<string, unknown> & { dn: string }): LdapEntry {
  const attrs = new Map<string, string[]>();
  const names = new Map<string, string>();
  for (const [k, v] of Object.entries(e)) {
    if (k === 'dn') continue;
    const values = (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
    attrs.set(k.toLowerCase(), values);
    names.set(k.toLowerCase(), k);
  }
  return { dn: e.dn, attrs, names };
}
