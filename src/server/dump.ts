// Loading a dump (as `astldap export`/`backup` or slapcat write it) into an empty database, as
// slapadd does: the entries exactly as given, their stored operational attributes (entryUUID,
// creators, timestamps, entryCSN, password policy state) kept; attributes the server computes
// (entryDN, hasSubordinates, subschemaSubentry, ...) are dropped, as they are never stored.

import { LdapError, ResultCode } from '../ldap/result.js';
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
  'pwdstarttime',
  'pwdendtime',
]);

/**
 * The form of each kept stamp: what an export writes and a slapcat dump has. A value of another
 * form never came from one (a file cut in the middle of a value, an edited dump), and taken as it
 * is it would be the entry's identity for every replica: refused, as slapadd refuses it.
 */
const STAMP_TIME = { re: /^\d{14}(?:[.,]\d+)?(?:Z|[+-]\d{4})$/, what: 'a generalized time' };
const STAMP_FORM: Record<string, { re: RegExp; what: string }> = {
  entryuuid: { re: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, what: 'a UUID (RFC 4122)' },
  createtimestamp: STAMP_TIME,
  modifytimestamp: STAMP_TIME,
  entrycsn: { re: /^\d{14}\.\d{6}Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}$/i, what: 'a CSN (time#count#sid#mod)' },
};

function checkStamp(type: string, key: string, values: string[], singleValue: boolean): void {
  const form = STAMP_FORM[key];
  // The password policy's failure times and history hold many values; the stamps one each.
  if (singleValue && values.length !== 1)
    throw new LdapError(ResultCode.constraintViolation, `${type}: single-valued, ${values.length} values given`);
  if (form && !form.re.test(values[0]!)) {
    throw new LdapError(ResultCode.invalidAttributeSyntax, `${type}: value "${values[0]!.slice(0, 80)}" is not ${form.what}`);
  }
}

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
    else if (KEPT.has(type.key)) {
      const values = a.values.map((v) => v.toString('utf8'));
      checkStamp(a.type, type.key, values, type.singleValue);
      (stamps ??= {})[type.key] = values;
    }
  }
  return { user, stamps };
}
