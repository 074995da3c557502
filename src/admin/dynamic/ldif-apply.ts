// Applies the LDIF of a dynamic role (creation, deletion or rollback records: add, modify,
// delete) to entries of the embedded directory inside ONE write transaction, with the checks of
// the write path (schema, RDN, parents), so a credential's entries and its lease record are
// stored together or not at all. userPassword values are hashed as on any add or modify.

import { addPolicy, givenPasswords } from '../../directory/add.js';
import type { Directory } from '../../directory/directory.js';
import { addRdnValues, buildAttributes } from '../../directory/entry-build.js';
import { applyChanges, decodeChanges } from '../../directory/modify.js';
import type { WriteTransaction } from '../../directory/write.js';
import { LdapError } from '../../ldap/result.js';
import { LdifError, parseLdif, type LdifRecord } from '../../ldif/ldif.js';
import { prettyDn } from '../../schema/dn.js';
import { failed, invalid } from '../engine/errors.js';

/** Parses LDIF text; a syntax error is the request's fault (400). */
export function parseRecords(text: string, field: string): LdifRecord[] {
  try {
    const records = parseLdif(text);
    if (!records.length) throw invalid(`${field}: no LDIF records`);
    return records;
  } catch (err) {
    if (err instanceof LdifError) throw invalid(`${field}: ${err.message}`);
    throw err;
  }
}

/** Stages every record in tx as actorDn; returns the DNs touched. Deleting what is gone is fine when tolerant. */
export async function applyRecords(
  dir: Directory,
  tx: WriteTransaction,
  actorDn: string,
  records: LdifRecord[],
  tolerant = false,
): Promise<string[]> {
  const dns: string[] = [];
  for (const r of records) {
    try {
      await applyOne(dir, tx, actorDn, r, tolerant);
    } catch (err) {
      if (err instanceof LdapError) throw failed(`LDIF record at line ${r.line} (${r.dn}): ${err.message || `LDAP error ${err.code}`}`);
      throw err;
    }
    dns.push(r.dn);
  }
  return dns;
}

async function applyOne(dir: Directory, tx: WriteTransaction, actorDn: string, r: LdifRecord, tolerant: boolean): Promise<void> {
  const ndn = dir.normalize(r.dn);
  switch (r.kind) {
    case 'add': {
      const attrs = await buildAttributes(dir.schema, dir.config.passwordScheme, r.attributes);
      addRdnValues(dir.schema, dir.parse(r.dn)[0]!, attrs);
      // A credential's password is held to the directory's password policy, as an ldapadd's.
      const given = givenPasswords(dir, r.attributes);
      if (given.length) await addPolicy(dir, dir.internalContext(actorDn, 'admin-api'), given, attrs, (n) => tx.get(n));
      await tx.add(actorDn, ndn, prettyDn(r.dn), attrs);
      return;
    }
    case 'delete': {
      const old = await tx.get(ndn);
      if (old) tx.remove(ndn, old);
      else if (!tolerant) await tx.require(ndn);
      return;
    }
    case 'modify': {
      const old = tolerant ? await tx.get(ndn) : await tx.require(ndn);
      if (!old) return;
      // The LDAP modify's own semantics (RFC 4511 §4.6): a value added twice is
      // attributeOrValueExists, a value or attribute deleted that is not there noSuchAttribute.
      const changes = await decodeChanges(dir, r.changes);
      tx.update(actorDn, ndn, old, applyChanges(old.attrs, changes));
      return;
    }
    default:
      throw invalid(`LDIF record at line ${r.line}: modrdn is not supported in a dynamic role`);
  }
}
