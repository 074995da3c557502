// Sections realtime cannot hold as objects (pjsip.conf transports, globals, system, ...) as the
// rows of res_config_ldap's static [config] table: one entry per variable, with the file name,
// category, category and variable metrics (1-based, in file order) and commented=FALSE. The
// driver splits a row's value at ";", so a value containing one cannot be a row.

import type { ConfigCategory } from './config-parser.js';
import { keepStatic, type Conversion, type ConvertContext } from './model.js';

export const CONFIG_CLASSES = ['AstldapObject', 'AsteriskConfig', 'AstldapConfig'];

export function staticRows(filename: string, cats: ConfigCategory[], ctx: ConvertContext, out: Conversion): void {
  if (!ctx.ext.has(filename)) {
    for (const cat of cats) {
      out.skipped.push({ origin: cat.origin, text: `[${cat.name}]`, reason: `extconfig.conf serves no ${filename} from ldap` });
      for (const v of cat.variables) keepStatic(out, cat.name, v);
    }
    return;
  }
  const used = new Map<string, number>();
  cats.forEach((cat, i) => {
    const seen = used.get(cat.name) ?? 0;
    used.set(cat.name, seen + 1);
    const key = seen ? `${cat.name}~${seen + 1}` : cat.name;
    let metric = 0;
    for (const v of cat.variables) {
      if (v.value.includes(';')) {
        out.skipped.push({
          origin: v.origin,
          text: `${v.name}=${v.value}`,
          reason: 'the value contains ";", which res_config_ldap splits into several rows',
        });
        continue;
      }
      metric++;
      const b = ctx.builder(filename, `${filename}-${key}-${metric}`, v.origin, `${filename} [${cat.name}] ${v.name}`, CONFIG_CLASSES, out);
      b.set('filename', [filename], v.origin);
      b.set('category', [cat.name], v.origin);
      b.set('cat_metric', [String(i + 1)], v.origin);
      b.set('var_metric', [String(metric)], v.origin);
      b.set('variable_name', [v.name], v.origin);
      b.set('variable_value', [v.value], v.origin);
      b.set('commented', ['FALSE'], v.origin);
      out.entries.push(b.entry);
    }
  });
  out.families.push(filename);
}
