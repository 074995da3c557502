// The LDAP connection of the asterisk commands, with OpenLDAP's tools' options: -H URL
// (ldap://, ldaps://, ldapi://PERCENT-ENCODED-PATH), -D DN with -w PASSWORD or -y FILE (the
// file's complete contents, as ldapadd reads it), or -Y EXTERNAL (over ldapi, the socket's
// owner). A thin wrapper over ldapts that returns entries with lowercased attribute names, and
// applies a set of changes as one LDAP transaction (RFC 5805) when the server offers them, else
// one by one, taking back what was done when one fails.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Attribute, Change, Client, Control } from 'ldapts';
import { OID } from '../ldap/oids.js';

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

type AttrList = Array<{ type: string; values: string[] }>;

/** One change of the directory, as applyChanges takes them. */
export type EntryChange =
  { op: 'add'; dn: string; attributes: AttrList } | { op: 'modify'; dn: string; mods: Modification[] } | { op: 'delete'; dn: string };

/** How applyChanges applied them: one LDAP transaction, or one request after another. */
export type ApplyMode = 'transaction' | 'sequential';

/** A change the server refused; its message says what of the set stays applied (nothing, unless taking back failed). */
export class ChangeFailed extends Error {
  constructor(
    readonly change: EntryChange,
    readonly code: number | undefined,
    message: string,
    /** Taking back the changes before it failed: part of the set may remain. */
    readonly partial = false,
  ) {
    super(message);
    this.name = 'ChangeFailed';
  }
}

/** RFC 5805's Transaction Specification control: critical, its value the transaction identifier. */
class TxnSpecControl extends Control {
  constructor(private readonly id: Buffer) {
    super(OID.txnSpec, { critical: true });
  }
  protected override writeControl(writer: Parameters<Control['writeControl']>[0]): void {
    writer.writeBuffer(this.id, 0x04);
  }
}

/** A BER tag-length-value (definite length, short or long form). */
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) len.unshift(v & 0xff);
  const head = n < 0x80 ? [tag, n] : [tag, 0x80 | len.length, ...len];
  return Buffer.concat([Buffer.from(head), content]);
}

/** txnEndReq ::= SEQUENCE { commit BOOLEAN DEFAULT TRUE, identifier OCTET STRING }. */
function txnEndValue(id: Buffer, commit: boolean): Buffer {
  return tlv(0x30, Buffer.concat([commit ? Buffer.alloc(0) : tlv(0x01, Buffer.from([0x00])), tlv(0x04, id)]));
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
  if (err instanceof ChangeFailed) return err.message; // described already
  const code = resultCode(err);
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '').trim();
  if (code === undefined) return message;
  return `${message ? message + ' ' : ''}(LDAP result ${code} ${RESULT_NAMES[code] ?? ''})`.replace(' )', ')');
}

export class DirectoryClient {
  private offersTxn: Promise<boolean> | undefined;

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

  /** The server advertises RFC 5805 transactions in its root DSE (Start and End Transaction, the control). */
  supportsTransactions(): Promise<boolean> {
    this.offersTxn ??= this.client
      .search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['supportedExtension', 'supportedControl'] })
      .then(({ searchEntries }) => {
        const e = searchEntries[0];
        const values = (k: string) => [e?.[k] ?? []].flat().map(String);
        const ext = values('supportedExtension');
        return ext.includes(OID.txnStart) && ext.includes(OID.txnEnd) && values('supportedControl').includes(OID.txnSpec);
      })
      .catch(() => false);
    return this.offersTxn;
  }

  /**
   * Applies the changes all or nothing: as one LDAP transaction when the server offers them
   * (one write on the server), else one request after another, taking back the ones done when
   * one fails (an entry deleted comes back with its user attributes). Throws ChangeFailed.
   */
  async applyChanges(changes: readonly EntryChange[]): Promise<ApplyMode> {
    if (!changes.length) return 'sequential';
    if (await this.supportsTransactions()) {
      await this.inTransaction(changes);
      return 'transaction';
    }
    await this.oneByOne(changes);
    return 'sequential';
  }

  private send(c: EntryChange, controls?: Control[]): Promise<void> {
    const client = this.client;
    switch (c.op) {
      case 'add':
        return client.add(
          c.dn,
          c.attributes.map((a) => new Attribute({ type: a.type, values: a.values })),
          controls,
        );
      case 'modify':
        return client.modify(
          c.dn,
          c.mods.map((m) => new Change({ operation: m.operation, modification: new Attribute({ type: m.type, values: m.values }) })),
          controls,
        );
      case 'delete':
        return client.del(c.dn, controls);
    }
  }

  private async inTransaction(changes: readonly EntryChange[]): Promise<void> {
    const started = await this.client.exop(OID.txnStart);
    const id = Buffer.from(started.value ?? '', 'utf8');
    const spec = [new TxnSpecControl(id)];
    for (const c of changes) {
      try {
        await this.send(c, spec);
      } catch (err) {
        // Refused when queued: abort, so nothing of the set is applied.
        await this.client.exop(OID.txnEnd, txnEndValue(id, false)).catch(() => undefined);
        throw failed(c, err, 'nothing was applied');
      }
    }
    try {
      await this.client.exop(OID.txnEnd, txnEndValue(id, true));
    } catch (err) {
      throw new ChangeFailed(changes[0]!, resultCode(err), `committing the transaction: ${describeError(err)}; nothing was applied`);
    }
  }

  private async oneByOne(changes: readonly EntryChange[]): Promise<void> {
    const undo: Array<() => Promise<void>> = [];
    for (const c of changes) {
      try {
        if (c.op === 'add') {
          await this.send(c);
          undo.push(() => this.del(c.dn));
        } else {
          const before = await this.read(c.dn);
          await this.send(c);
          if (before && c.op === 'delete') undo.push(() => this.add(c.dn, userAttributes(before)));
          if (before && c.op === 'modify') undo.push(() => this.modify(c.dn, restoring(before, c.mods)));
        }
      } catch (err) {
        let kept = 0;
        for (const u of undo.reverse()) await u().catch(() => kept++);
        const after = kept
          ? `${undo.length - kept} change(s) before it taken back, ${kept} could not be`
          : `${undo.length} change(s) before it taken back`;
        throw failed(c, err, after, kept > 0);
      }
    }
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }
}

function failed(c: EntryChange, err: unknown, after: string, partial = false): ChangeFailed {
  return new ChangeFailed(c, resultCode(err), `${c.op} ${c.dn}: ${describeError(err)}; ${after}`, partial);
}

/** An entry's attributes as read, to add it back. */
function userAttributes(e: LdapEntry): AttrList {
  return [...e.attrs].map(([k, values]) => ({ type: e.names.get(k) ?? k, values }));
}

/** The modifications that give the attributes mods touched their values in before. */
function restoring(before: LdapEntry, mods: readonly Modification[]): Modification[] {
  const types = new Map(mods.map((m) => [m.type.toLowerCase(), m.type]));
  return [...types].map(([k, type]) => ({ operation: 'replace', type, values: before.attrs.get(k) ?? [] }));
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
