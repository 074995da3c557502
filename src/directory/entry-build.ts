// Turning request attributes into a stored entry's attribute map, with the checks every write
// shares: known types, user-modifiable, UTF-8 where the syntax is text, no duplicate values,
// password hashing, and the RDN's values present.

import { LdapError, ResultCode } from '../ldap/result.js';
import type { AttributeValues } from '../ldap/messages.js';
import { hashPassword, splitScheme } from '../access/passwords.js';
import type { PasswordScheme } from '../config/config.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { AttributeType } from '../schema/types.js';
import { decodeValue, requireDescription } from './attributes.js';

/** Normalised form for duplicate detection; raw value when the type has no equality rule. */
export function valueKey(type: AttributeType, v: string): string {
  return type.equality?.normalize(v) ?? '\0raw:' + v;
}

export function assertUserModifiable(type: AttributeType, label: string): void {
  if (type.noUserModification) throw new LdapError(ResultCode.constraintViolation, `${label}: no user modification allowed`);
}

/** Decodes and checks one attribute's values; duplicates are attributeOrValueExists. */
export async function decodeValues(scheme: PasswordScheme, type: AttributeType, label: string, values: Buffer[]): Promise<string[]> {
  const out = checkedValues(type, label, values);
  if (type.key === 'userpassword') for (let i = 0; i < out.length; i++) out[i] = await storablePassword(scheme, out[i]!);
  return out;
}

/** decodeValues without the password hashing (synchronous). */
function checkedValues(type: AttributeType, label: string, values: Buffer[]): string[] {
  const out: string[] = [];
  // Most attributes have one value: no set to tell duplicates apart then.
  const seen = values.length > 1 ? new Set<string>() : undefined;
  for (let i = 0; i < values.length; i++) {
    const v = decodeValue(type, values[i]!, label);
    if (!type.syntax.validate(v)) throw new LdapError(ResultCode.invalidAttributeSyntax, `${label}: value #${i} invalid per syntax`);
    if (seen) {
      const k = valueKey(type, v);
      if (seen.has(k)) throw new LdapError(ResultCode.attributeOrValueExists, `${label}: value #${i} provided more than once`);
      seen.add(k);
    }
    out.push(v);
  }
  return out;
}

/** Cleartext userPassword values are hashed; values that carry a {SCHEME} are kept as given. */
async function storablePassword(scheme: PasswordScheme, v: string): Promise<string> {
  const given = splitScheme(v)?.[0];
  if (given && given !== 'CLEARTEXT') return v;
  const clear = given === 'CLEARTEXT' ? v.slice('{CLEARTEXT}'.length) : v;
  return hashPassword(Buffer.from(clear, 'latin1'), scheme);
}

export async function buildAttributes(
  schema: SchemaRegistry,
  scheme: PasswordScheme,
  attributes: AttributeValues[],
): Promise<Record<string, string[]>> {
  const attrs: Record<string, string[]> = {};
  // Unknown object classes are reported before anything else, as slapd does.
  for (const a of attributes) {
    const semi = a.type.indexOf(';');
    if (schema.attributeType(semi < 0 ? a.type : a.type.slice(0, semi))?.key !== 'objectclass') continue;
    a.values.forEach((v, i) => {
      if (!schema.objectClass(v.toString('utf8').trim())) {
        throw new LdapError(ResultCode.invalidAttributeSyntax, `objectClass: value #${i} invalid per syntax`);
      }
    });
  }
  for (const a of attributes) {
    const d = requireDescription(schema, a.type);
    assertUserModifiable(d.type, a.type);
    if (a.values.length === 0) throw new LdapError(ResultCode.protocolError, `${a.type}: no values`);
    // Only passwords need the asynchronous path (hashing).
    const vals =
      d.type.key === 'userpassword' ? await decodeValues(scheme, d.type, a.type, a.values) : checkedValues(d.type, a.type, a.values);
    const cur = attrs[d.key];
    if (cur) {
      const seen = new Set(cur.map((v) => valueKey(d.type, v)));
      for (const v of vals) {
        if (seen.has(valueKey(d.type, v)))
          throw new LdapError(ResultCode.attributeOrValueExists, `${a.type}: value provided more than once`);
        cur.push(v);
      }
    } else attrs[d.key] = vals;
  }
  return attrs;
}

/**
 * Add: the RDN's values become values of the entry when missing (as slapd does). A naming
 * attribute without an equality rule, or a single-valued one holding another value, is a
 * namingViolation.
 */
export function addRdnValues(schema: SchemaRegistry, rdn: Array<{ type: string; value: string }>, attrs: Record<string, string[]>): void {
  for (const ava of rdn) {
    const type = schema.attributeType(ava.type);
    if (!type) throw new LdapError(ResultCode.undefinedAttributeType, `${ava.type}: attribute type undefined`);
    if (!type.equality) throw new LdapError(ResultCode.namingViolation, `naming attribute '${type.name}' has no equality matching rule`);
    const want = valueKey(type, ava.value);
    const list = attrs[type.key] ?? [];
    if (list.some((v) => valueKey(type, v) === want)) continue;
    if (type.singleValue && list.length) {
      throw new LdapError(
        ResultCode.namingViolation,
        `value of single-valued naming attribute '${type.name}' conflicts with value present in entry`,
      );
    }
    if (type.noUserModification) throw new LdapError(ResultCode.constraintViolation, `${type.name}: no user modification allowed`);
    list.push(ava.value);
    attrs[type.key] = list;
  }
}
