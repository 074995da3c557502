// The subschema subentry (RFC 4512 §4.2), cn=Subschema: the live schema as attributeTypes,
// objectClasses, matchingRules and ldapSyntaxes values, built from the registry at read time.

import type { EntryRecord } from '../store/types.js';
import { checkAssertion } from './assertion.js';
import { SUBSCHEMA_DN, type Directory } from './directory.js';
import type { SearchSource } from './search/collect.js';

export function subschemaEntry(dir: Directory): EntryRecord {
  const time = dir.clock.subschemaTime;
  const attrs: Record<string, string[]> = {
    objectclass: ['top', 'subentry', 'subschema', 'extensibleObject'],
    cn: ['Subschema'],
    structuralobjectclass: ['subentry'],
    createtimestamp: [time],
    modifytimestamp: [time],
    entrydn: [SUBSCHEMA_DN],
    subschemasubentry: [SUBSCHEMA_DN],
  };
  for (const [name, values] of Object.entries(dir.schema.subschemaAttributes())) attrs[name.toLowerCase()] = values;
  return { dn: SUBSCHEMA_DN, attrs };
}

/** A base or subtree search on cn=Subschema finds the entry; it has no children. */
export const subschemaSource: SearchSource = async (dir, ctx, plan, results) => {
  const entry = { dn: SUBSCHEMA_DN, ndn: plan.baseNdn, rec: subschemaEntry(dir) };
  checkAssertion(dir, ctx, entry);
  if (plan.scope === 'base' || plan.scope === 'sub') await results.emit(entry);
};
