// The Directory's schema browser: the live schema as the session's identity reads it from the
// subschema entry (cn=Subschema, RFC 4512 §4.2) over its own LDAP connection, so it shows what
// `ldapsearch -b cn=Subschema -s base +` would show that identity: object classes with their
// kind, superiors, MUST and MAY; attribute types with their syntax by name.

import type { DirectoryClient } from '../asterisk/ldap-client.js';
import { parseAttributeType, parseObjectClass } from '../schema/parser.js';
import type { AttributeTypeInfo, ObjectClassInfo, SchemaAnswer } from './types.js';

const SUBSCHEMA = 'cn=Subschema';
const COLLATOR = new Intl.Collator('en', { sensitivity: 'base' });

/** An unparsable value is left out (a value the server sent is the server's business). */
function each<T>(values: string[] | undefined, parse: (v: string) => T): T[] {
  const out: T[] = [];
  for (const v of values ?? []) {
    try {
      out.push(parse(v));
    } catch {
      // skipped
    }
  }
  return out;
}

/** The OIDs of ldapSyntaxes values with their descriptions. */
function syntaxNames(values: string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values ?? []) {
    const m = /^\(\s*([\d.]+)[\s\S]*?\bDESC\s+'((?:[^'\\]|\\.)*)'/.exec(v);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

export async function readSchema(client: DirectoryClient): Promise<SchemaAnswer | undefined> {
  const [e] = await client.search(SUBSCHEMA, '(objectClass=subschema)', 'base', ['objectClasses', 'attributeTypes', 'ldapSyntaxes']);
  if (!e) return undefined;
  const syntaxes = syntaxNames(e.attrs.get('ldapsyntaxes'));
  const raw = each(e.attrs.get('attributetypes'), parseAttributeType);
  const byName = new Map<string, (typeof raw)[number]>();
  for (const a of raw) for (const n of [a.oid, ...a.names]) byName.set(n.toLowerCase(), a);
  // A type without SYNTAX takes its superior's (followed up the chain, cycles cut).
  const syntaxOf = (a: (typeof raw)[number]): string => {
    const seen = new Set<string>();
    let t: (typeof raw)[number] | undefined = a;
    while (t && !t.syntax && t.sup && !seen.has(t.oid)) {
      seen.add(t.oid);
      t = byName.get(t.sup.toLowerCase());
    }
    return t?.syntax ?? '';
  };
  const attributeTypes: AttributeTypeInfo[] = raw.map((a) => {
    const oid = syntaxOf(a);
    return {
      name: a.names[0] ?? a.oid,
      oid: a.oid,
      desc: a.desc,
      sup: a.sup,
      syntax: syntaxes.get(oid) ?? (oid || 'none'),
      syntaxOid: oid,
      singleValue: a.singleValue,
      readOnly: a.noUserModification,
      usage: a.usage,
      obsolete: a.obsolete,
    };
  });
  const objectClasses: ObjectClassInfo[] = each(e.attrs.get('objectclasses'), parseObjectClass).map((c) => ({
    name: c.names[0] ?? c.oid,
    oid: c.oid,
    desc: c.desc,
    kind: c.kind,
    sup: c.sup,
    must: c.must,
    may: c.may,
    obsolete: c.obsolete,
  }));
  const byNameSort = <T extends { name: string }>(xs: T[]) => xs.sort((x, y) => COLLATOR.compare(x.name, y.name));
  return { dn: e.dn, objectClasses: byNameSort(objectClasses), attributeTypes: byNameSort(attributeTypes) };
}
