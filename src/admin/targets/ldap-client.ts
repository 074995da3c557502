// The ldapjs client the external target uses: connect to the first URL of the list that
// answers, optional StartTLS, bind as binddn, read or search entries, replace password
// attributes in one Modify request.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** An event emitter as far as used here (handlers declare what their event passes). */
interface Emitter {
  on(event: string, fn: (...args: never[]) => void): void;
}
interface LdapjsClient extends Emitter {
  bind(dn: string, pw: string, cb: (err: Error | null) => void): void;
  search(base: string, opts: Record<string, unknown>, cb: (err: Error | null, res: Emitter) => void): void;
  modify(dn: string, changes: unknown[], cb: (err: Error | null) => void): void;
  starttls(opts: Record<string, unknown>, controls: unknown[], cb: (err: Error | null) => void): void;
  unbind(cb?: (err?: Error) => void): void;
  destroy(): void;
}
interface Ldapjs {
  createClient(opts: Record<string, unknown>): LdapjsClient;
  Change: new (o: { operation: string; modification: unknown }) => unknown;
  Attribute: new (o: { type: string; values: string[] }) => unknown;
}
const ldap = require('ldapjs') as Ldapjs;

export interface ExternalSettings {
  url: string;
  binddn: string;
  bindpass: string;
  starttls: boolean;
  insecure_tls: boolean;
  certificate: string;
  client_tls_cert: string;
  client_tls_key: string;
  request_timeout: number;
  connection_timeout: number;
}

export interface ExternalEntry {
  dn: string;
  /** Lowercased attribute names. */
  attrs: Record<string, string[]>;
}

export class ExternalLdap {
  private constructor(private readonly client: LdapjsClient) {}

  /** Connects to the first URL that works and binds; throws the last error otherwise. */
  static async connect(s: ExternalSettings): Promise<ExternalLdap> {
    const urls = s.url
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    let last: Error = new Error('no url');
    for (const url of urls) {
      const tlsOptions: Record<string, unknown> = { rejectUnauthorized: !s.insecure_tls };
      if (s.certificate) tlsOptions.ca = [s.certificate];
      if (s.client_tls_cert && s.client_tls_key) {
        tlsOptions.cert = s.client_tls_cert;
        tlsOptions.key = s.client_tls_key;
      }
      try {
        const client = await new Promise<LdapjsClient>((resolve, reject) => {
          const c = ldap.createClient({
            url: [url],
            timeout: s.request_timeout * 1000,
            connectTimeout: s.connection_timeout * 1000,
            tlsOptions,
            reconnect: false,
          });
          c.on('error', (err: Error) => reject(err));
          c.on('connectError', (err: Error) => reject(err));
          c.on('connectTimeout', () => reject(new Error(`connection to ${url} timed out`)));
          c.on('connect', () => resolve(c));
        });
        const ext = new ExternalLdap(client);
        client.on('error', () => undefined);
        try {
          if (s.starttls && url.toLowerCase().startsWith('ldap://')) {
            await new Promise<void>((res, rej) => client.starttls(tlsOptions, [], (e) => (e ? rej(e) : res())));
          }
          await new Promise<void>((res, rej) => client.bind(s.binddn, s.bindpass, (e) => (e ? rej(e) : res())));
        } catch (err) {
          ext.close();
          throw err;
        }
        return ext;
      } catch (err) {
        last = err instanceof Error ? err : new Error(String(err));
        // A bind refusal is an answer: other URLs would refuse the same credentials.
        if (/invalid ?credentials/i.test(last.message) || (last as { code?: number }).code === 49) break;
      }
    }
    throw last;
  }

  close(): void {
    try {
      this.client.unbind(() => this.client.destroy());
    } catch {
      this.client.destroy();
    }
  }

  search(base: string, scope: 'base' | 'sub', filter: string, attributes: string[]): Promise<ExternalEntry[]> {
    return new Promise((resolve, reject) => {
      this.client.search(base, { scope, filter, attributes, sizeLimit: 0 }, (err, res) => {
        if (err) return reject(err);
        const out: ExternalEntry[] = [];
        res.on('searchEntry', (e: { pojo: { objectName: string; attributes: Array<{ type: string; values: string[] }> } }) => {
          const attrs: Record<string, string[]> = {};
          for (const a of e.pojo.attributes) attrs[a.type.toLowerCase()] = a.values.map(String);
          out.push({ dn: e.pojo.objectName, attrs });
        });
        res.on('error', (e: Error) => reject(e));
        res.on('end', (r: { status: number; errorMessage?: string }) => {
          if (r && r.status !== 0) reject(new Error(`search failed with result ${r.status} ${r.errorMessage ?? ''}`));
          else resolve(out);
        });
      });
    });
  }

  /** The entry, or undefined when the server says noSuchObject. */
  async read(dn: string): Promise<ExternalEntry | undefined> {
    try {
      const r = await this.search(dn, 'base', '(objectClass=*)', ['*']);
      return r[0];
    } catch (err) {
      if ((err as { code?: number }).code === 32 || /no such object/i.test((err as Error).message)) return undefined;
      throw err;
    }
  }

  /** Replaces (or, for null, deletes) attributes in one Modify request. */
  modify(dn: string, changes: Record<string, string[] | null>): Promise<void> {
    const list = Object.entries(changes).map(
      ([type, values]) =>
        new ldap.Change({
          operation: values === null ? 'delete' : 'replace',
          modification: new ldap.Attribute({ type, values: values ?? [] }),
        }),
    );
    return new Promise((resolve, reject) => this.client.modify(dn, list, (e) => (e ? reject(e) : resolve())));
  }
}
