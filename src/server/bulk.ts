// Loading LDIF in bulk (astldap import and restore, importLdif): runs of plain adds inside the
// naming context (bulkTargets picks them) become one store batch each, with the checks of an
// add. A run is prepared (attributes built and checked, stamps split off a dump's records: no
// store access), then committed (the write transaction: new DN, existing parent, schema, stamps).

import { isConfigDn } from '../directory/cn-config.js';
import type { Directory } from '../directory/directory.js';
import { addRdnValues, buildAttributes } from '../directory/entry-build.js';
import type { Attributes } from '../directory/write.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import { LdifError, type LdifRecord } from '../ldif/ldif.js';
import { prettyRdns, type Rdn } from '../schema/dn.js';
import { splitStamps } from './dump.js';

export type AddRecord = Extract<LdifRecord, { kind: 'add' }>;

/** A bulk-loaded record's DN, parsed and normalised once. */
export interface BulkTarget {
  rdns: Rdn[];
  ndn: string;
}

/** A run ready to commit: its entries in order, and the error of the record that ended it, if one did. */
export interface PreparedRun {
  items: Array<{ record: AddRecord; ndn: string; dn: string; attrs: Attributes; stamps: Attributes | undefined }>;
  error?: unknown;
}

/**
 * For each record, its DN parsed and normalised if it is a plain add inside the naming context
 * (what the bulk path takes); undefined for anything else (changes, cn=config, bad DNs: the
 * ordinary path). An add outside both fails the whole run first, naming the fix: a fixture for
 * another suffix gets "set suffix", not "no global superior knowledge".
 */
export function bulkTargets(dir: Directory, records: LdifRecord[]): Array<BulkTarget | undefined> {
  return records.map((r) => {
    if (r.kind !== 'add') return undefined;
    let target: BulkTarget;
    try {
      target = dir.parseNormalized(r.dn);
    } catch {
      return undefined; // The ordinary path reports the bad DN itself.
    }
    if (dir.inNamingContext(target.ndn)) return target;
    if (isConfigDn(target.ndn)) return undefined;
    throw new LdapError(
      ResultCode.unwillingToPerform,
      `${r.dn} (LDIF line ${r.line}) is outside the naming context ${dir.config.suffix}; set suffix`,
    );
  });
}

/**
 * Builds the entries of a run of plain adds. A record that fails ends the run there: the ones
 * before it are still committed, then its error is thrown (as ldapadd without -c leaves them).
 * With `exact`, each entry keeps the stored operational attributes its record carries (a dump).
 */
export async function prepareAdds(dir: Directory, records: AddRecord[], targets: BulkTarget[], exact: boolean): Promise<PreparedRun> {
  const run: PreparedRun = { items: [] };
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const { rdns, ndn } = targets[i]!;
    try {
      const { user, stamps } = exact ? splitStamps(record.attributes, dir.schema) : { user: record.attributes, stamps: undefined };
      const attrs = await buildAttributes(dir.schema, dir.config.passwordScheme, user);
      addRdnValues(dir.schema, rdns[0]!, attrs);
      run.items.push({ record, ndn, dn: prettyRdns(rdns), attrs, stamps });
    } catch (err) {
      run.error = inLdif(err, record);
      break;
    }
  }
  return run;
}

/** Adds a prepared run in one atomic batch as `actorDn`; then throws the run's error, if any. */
export async function commitAdds(dir: Directory, actorDn: string, run: PreparedRun): Promise<void> {
  await dir.writer.transaction(async (tx) => {
    for (const { record, ndn, dn, attrs, stamps } of run.items) {
      try {
        await tx.add(actorDn, ndn, dn, attrs, stamps ? { stamps } : {});
      } catch (err) {
        // What came before the failing record stays.
        await tx.commit();
        throw inLdif(err, record);
      }
    }
    if (run.error !== undefined) {
      await tx.commit();
      throw run.error;
    }
  });
}

/** An error of a record, saying where it is in the LDIF and why (a result with no text gets one). */
export function inLdif(err: unknown, r: LdifRecord): unknown {
  if (!(err instanceof LdapError)) return err;
  // Some results carry no text on the wire (noSuchObject, as slapd's); a file's reader needs one.
  const name = Object.entries(ResultCode).find(([, c]) => c === err.code)?.[0] ?? 'error';
  const parentMissing = err.code === ResultCode.noSuchObject && r.kind === 'add' ? ': its parent entry does not exist' : '';
  const why =
    err.message || `${name} (${err.code})${parentMissing}${err.matchedDN ? `; the nearest existing entry is ${err.matchedDN}` : ''}`;
  return Object.assign(new LdapError(err.code, `${r.dn} (LDIF line ${r.line}): ${why}`, err.matchedDN), { ldifLine: r.line });
}

/** The LDIF line of the record an error of `inLdif` (or a parse error of a run) stopped at. */
export function stoppedAt(err: unknown): number | undefined {
  if (err instanceof LdifError) return err.resumeLine ?? err.line;
  const line = (err as { ldifLine?: unknown } | undefined)?.ldifLine;
  return typeof line === 'number' ? line : undefined;
}
