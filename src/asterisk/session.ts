// What the day-to-day asterisk commands share: where a family's entries live and what its columns
// are called (read from extconfig.conf and res_ldap.conf), the exit codes a script can rely on,
// and one connection per command with its errors turned into messages and exit codes.

import { DirectoryClient, describeError, type ConnectOptions, type LdapEntry, type Modification } from './ldap-client.js';
import { ExtConfig, ResLdapMapping } from './mapping.js';
import { rdn } from './model.js';

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 4, exists: 5 } as const;

export class CommandError extends Error {
  constructor(
    readonly exit: number,
    message: string,
  ) {
    super(message);
  }
}

/** Where each family's entries live and what their columns are called (extconfig.conf, res_ldap.conf). */
export class Layout {
  constructor(
    readonly mapping: ResLdapMapping,
    readonly ext: ExtConfig,
  ) {}

  base(family: string): string {
    return this.ext.binding(family).base;
  }

  dn(family: string, name: string): string {
    return rdn('cn', name, this.base(family));
  }

  /** The attribute of a column of a family's table; the table must map it. */
  attr(family: string, column: string): string {
    const table = this.ext.binding(family).table;
    const a = this.mapping.attribute(table, column);
    if (!a) throw new Error(`${this.mapping.file} [${table}] maps no ${column}`);
    return a;
  }

  classes(family: string, own: string): string[] {
    const cls = this.mapping.table(this.ext.binding(family).table).filterClasses;
    return [...new Set([own, ...cls])];
  }
}

export type Values = Record<string, string | boolean | undefined>;

/** An option as given ('' included: for a set command, '' removes the column). */
export const stringOption = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);

/**
 * The modifications that set columns of a family's entry e: a value replaces, '' removes the
 * column (when the entry has it), undefined leaves it.
 */
export function columnChanges(l: Layout, family: string, e: LdapEntry, cols: Record<string, string | undefined>): Modification[] {
  const mods: Modification[] = [];
  for (const [c, v] of Object.entries(cols)) {
    if (v === undefined) continue;
    const type = l.attr(family, c);
    if (v !== '') mods.push({ operation: 'replace', type, values: [v] });
    else if (e.attrs.has(type.toLowerCase())) mods.push({ operation: 'delete', type, values: [] });
  }
  return mods;
}

/** The layout of --res-ldap / --extconfig, or of the shipped files. */
export const layoutOf = (v: Values): Layout =>
  new Layout(
    typeof v['res-ldap'] === 'string' ? ResLdapMapping.read(v['res-ldap']) : ResLdapMapping.read(),
    typeof v.extconfig === 'string' ? ExtConfig.read(v.extconfig) : ExtConfig.read(),
  );

/** Connects, runs fn, closes; a CommandError's exit code, or 1 with the LDAP error described. */
export async function withClient(
  what: string,
  conn: ConnectOptions,
  err: NodeJS.WritableStream,
  fn: (client: DirectoryClient) => Promise<void>,
): Promise<number> {
  let client: DirectoryClient;
  try {
    client = await DirectoryClient.connect(conn);
  } catch (e) {
    err.write(`astldap asterisk: cannot connect or bind: ${describeError(e)}\n`);
    return EXIT.error;
  }
  try {
    await fn(client);
    return EXIT.ok;
  } catch (e) {
    err.write(`astldap asterisk ${what}: ${e instanceof CommandError ? e.message : describeError(e)}\n`);
    return e instanceof CommandError ? e.exit : EXIT.error;
  } finally {
    await client.close();
  }
}
