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

/** Normalised values of the indexed attributes, for the store; the schema is read at each call. */
export function makeIndexer(getSchema: () => SchemaRegistry, specs: IndexSpec[]): Indexer {
  const keys = specs.map((s) => s.attr);
  return (rec: EntryRecord) => {
    const schema = getSchema();
    const out = new Map<string, string[]>();
    for (const key of keys) {
      const vals = rec.attrs[key];
      if (!vals || !vals.length) continue;
      if (key === 'objectclass') {
        out.set(
          key,
          vals.map((v) => schema.objectClass(v)?.key ?? v.toLowerCase()),
        );
        continue;
      }
      const rule = schema.attributeType(key)?.equality;
      const norm: string[] = [];
      for (const v of vals) {
        const n = rule ? rule.normalize(v) : v;
        if (n !== undefined) norm.push(n);
      }
      out.set(key, norm);
    }
    return out;
  };
}
