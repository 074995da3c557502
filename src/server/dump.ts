// Loading a dump (as `astldap export`/`backup` or slapcat write it) into an empty database, as
// slapadd does: the entries exactly as given, their stored operational attributes (entryUUID,
// creators, timestamps, entryCSN, password policy state) kept; attributes the server computes (entryDN,
// hasSubordinates, subschemaSubentry, ...) are dropped, as they are never stored.

import type { LdifAttribute } from '../ldif/ldif.js';
import type { SchemaRegistry } from '../schema/registry.js';

/**
 * Operational attributes that are stored with an entry and that a dump restores: the stamps,
 * and the password policy's state (a restore must not unlock accounts or forget the history).
 */
const KEPT = new Set([
  'entryuuid',
  'creatorsname',
  'createtimestamp',
  'modifiersname',
  'modifytimestamp',
  'entrycsn',
  'pwdchangedtime',
  'pwdaccountlockedtime',
  'pwdfailuretime',
  'pwdhistory',
  'pwdgraceusetime',
  'pwdreset',
  'pwdpolicysubentry',
]);

/**
 * Splits a dump record's attributes into what an add takes and the stored stamps to keep
 * (lowercase keys); attributes the server computes are dropped.
 */
export function splitStamps(
  attributes: LdifAttribute[],
  schema: SchemaRegistry,
): { user: LdifAttribute[]; stamps: Record<string, string[]> | undefined } {
  const user: LdifAttribute[] = [];
  let stamps: Record<string, string[]> | undefined;
  for (const a of attributes) {
    const type = schema.attributeType(a.type);
    if (!type?.operational) user.push(a);
    else if (KEPT.has(type.key)) (stamps ??= {})[type.key] = a.values.map((v) => v.toString('utf8'));
  }
  return { user, stamps };
}
