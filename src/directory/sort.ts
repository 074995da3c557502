// Server-side sorting (RFC 2891): sort keys resolved against the schema, each entry's sort
// values, and the ordering (entries without a value last, then reverseOrder).

import { ResultCode } from '../ldap/result.js';
import type { SortKey } from '../ldap/messages.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { AttributeType, MatchingRule } from '../schema/types.js';
import type { EntryRecord } from '../store/types.js';
import { baseKey } from './attributes.js';

/** A sort key resolved against the schema: which values to read and how to compare them. */
export interface CompiledSortKey {
  keys: Set<string>;
  normalize: (v: string) => string | undefined;
  compare: (a: string, b: string) => number;
  reverse: boolean;
}

export type SortPlan = { ok: true; keys: CompiledSortKey[]; spec: string } | { ok: false; code: number; attribute: string };

const codepoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function orderingOf(rule: MatchingRule | undefined): ((a: string, b: string) => number) | undefined {
  return rule?.compare ? rule.compare.bind(rule) : undefined;
}

/** Resolves the sort keys; an unknown type is noSuchAttribute, an unusable rule inappropriateMatching. */
export function compileSort(schema: SchemaRegistry, keys: SortKey[]): SortPlan {
  const out: CompiledSortKey[] = [];
  for (const k of keys) {
    const type: AttributeType | undefined = schema.attributeType(k.attribute.split(';')[0]!);
    if (!type) return { ok: false, code: ResultCode.noSuchAttribute, attribute: k.attribute };
    let rule: MatchingRule | undefined;
    if (k.orderingRule !== undefined) {
      rule = schema.matchingRule(k.orderingRule);
      if (!rule || !rule.compare) return { ok: false, code: ResultCode.inappropriateMatching, attribute: k.attribute };
    } else rule = type.ordering?.compare ? type.ordering : undefined;
    const eq = type.equality;
    const normalize = rule ? (v: string) => rule!.normalize(v) : eq ? (v: string) => eq.normalize(v) : (v: string) => v;
    out.push({
      keys: new Set(schema.subtypesOf(type).map((t) => t.key)),
      normalize,
      compare: orderingOf(rule) ?? codepoint,
      reverse: k.reverse,
    });
  }
  const spec = keys.map((k) => `${k.reverse ? '-' : ''}${k.attribute.toLowerCase()}:${k.orderingRule ?? ''}`).join(',');
  return { ok: true, keys: out, spec };
}

/** The least value of each key in the entry (undefined when it has none): what the entry sorts by. */
export function sortValues(plan: CompiledSortKey[], rec: EntryRecord): Array<string | undefined> {
  return plan.map((k) => {
    let least: string | undefined;
    for (const key in rec.attrs) {
      if (!k.keys.has(key) && !(key.includes(';') && k.keys.has(baseKey(key)))) continue;
      for (const v of rec.attrs[key]!) {
        const n = k.normalize(v);
        if (n === undefined) continue;
        if (least === undefined || k.compare(n, least) < 0) least = n;
      }
    }
    return least;
  });
}

/**
 * Orders items by their sort values; an entry without a value sorts after every value
 * (RFC 2891 §2.2), then reverseOrder flips the key's order.
 */
export function sortItems<T extends { values: Array<string | undefined> }>(plan: CompiledSortKey[], items: T[]): T[] {
  return items.sort((a, b) => {
    for (let i = 0; i < plan.length; i++) {
      const k = plan[i]!;
      const x = a.values[i];
      const y = b.values[i];
      let c: number;
      if (x === undefined) c = y === undefined ? 0 : 1;
      else if (y === undefined) c = -1;
      else c = k.compare(x, y);
      if (c !== 0) return k.reverse ? -c : c;
    }
    return 0;
  });
}
