// What the store indexes, in the schema's terms: the configured indexes resolved to attribute
// keys, and the normalised values of an entry's indexed attributes (equality normalisation;
// substring indexes are built from the same values).

import type { Config } from '../config/config.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { EntryRecord, Indexer, IndexSpec } from '../store/types.js';

/** The index configuration as the store wants it (attribute keys resolved via the schema). */
export function indexSpecs(config: Config, schema: SchemaRegistry): IndexSpec[] {
  const out: IndexSpec[] = [];
  for (const [name, kinds] of Object.entries(config.store.indexes)) {
    const t = schema.attributeType(name);
    if (!t) continue; // an index on a type the schema lacks is ignored (warned at start)
    out.push({ attr: t.key, eq: kinds.includes('eq'), pres: kinds.includes('pres'), sub: kinds.includes('sub') });
  }
  return out;
}

/** Normalised values of an indexed attribute, for the store; the schema is read at each call. */
export function makeIndexer(getSchema: () => SchemaRegistry): Indexer {
  const none: string[] = [];
  return (rec: EntryRecord, key: string) => {
    const vals = rec.attrs[key];
    if (!vals || !vals.length) return none;
    const schema = getSchema();
    if (key === 'objectclass') return vals.map((v) => schema.objectClass(v)?.key ?? v.toLowerCase());
    const rule = schema.attributeType(key)?.equality;
    if (!rule) return vals;
    const norm: string[] = [];
    for (const v of vals) {
      const n = rule.normalize(v);
      if (n !== undefined) norm.push(n);
    }
    return norm;
  };
}
