// Loading a dump (as `astldap export`/`backup` or slapcat write it) into an empty database, as
// slapadd does: the entries exactly as given, their stored operational attributes (entryUUID,
// creators, timestamps, entryCSN) kept; attributes the server computes (entryDN,
// hasSubordinates, subschemaSubentry, ...) are dropped, as they are never stored.

import type { LdifAttribute, LdifRecord } from '../ldif/ldif.js';
import { formatLdifEntry } from '../ldif/ldif.js';
import type { SchemaRegistry } from '../schema/registry.js';

/** Operational attributes that are stored with an entry and that a dump restores. */
const KEPT = new Set(['entryuuid', 'creatorsname', 'createtimestamp', 'modifiersname', 'modifytimestamp', 'entrycsn']);

export interface SplitDump {
  /** The dump without operational attributes: LDIF an ordinary import accepts. */
  ldif: string;
  /** Per DN (as written), the stored operational attributes to put back (lowercase keys). */
  stamps: Map<string, Record<string, string[]>>;
  records: number;
}

/** Splits each entry of a dump into what an add takes and the stamps to restore afterwards. */
export function splitDump(records: LdifRecord[], schema: SchemaRegistry): SplitDump {
  const stamps = new Map<string, Record<string, string[]>>();
  const parts: string[] = [];
  for (const r of records) {
    if (r.kind !== 'add') throw new Error(`LDIF line ${r.line}: a dump holds entries only (changetype ${r.kind})`);
    const user: LdifAttribute[] = [];
    const kept: Record<string, string[]> = {};
    for (const a of r.attributes) {
      const type = schema.attributeType(a.type);
      if (!type?.operational) user.push(a);
      else if (KEPT.has(type.key)) kept[type.key] = a.values.map((v) => v.toString('utf8'));
    }
    if (Object.keys(kept).length) stamps.set(r.dn, kept);
    parts.push(formatLdifEntry(r.dn, user));
  }
  return { ldif: parts.join('\n'), stamps, records: records.length };
}
