// musiconhold.conf to the musiconhold realtime table: one class per section (mode, directory,
// application, sort, ...), cn = the class name, below ou=moh,ou=config as sample.ldif lays out
// cn=default. [general] configures res_musiconhold itself and stays in the file. Playlist mode
// (entry => lines) cannot be served over LDAP (its lookup never reaches the server): reported.

import type { ParsedConfig } from './config-parser.js';
import { columnsOf, keepSection, keepStatic, type Conversion, type ConvertContext } from './model.js';

export const MOH_CLASSES = ['AstldapMusicOnHold'];

export function convertMoh(cfg: ParsedConfig, ctx: ConvertContext, out: Conversion): void {
  for (const cat of cfg.categories) {
    if (cat.template) continue;
    if (cat.name.toLowerCase() === 'general') {
      keepSection(out, cat, '[general] configures res_musiconhold itself: keep it in the static musiconhold.conf');
      continue;
    }
    const b = ctx.builder('musiconhold', cat.name, cat.origin, `moh class ${cat.name}`, MOH_CLASSES, out);
    for (const col of columnsOf(cat, new Set(['entry']))) b.set(col.name, col.values.slice(-1), { file: col.file, line: col.line });
    for (const v of cat.variables.filter((x) => x.name === 'entry')) {
      out.skipped.push({
        origin: v.origin,
        text: `entry => ${v.value}`,
        reason: 'playlist entries (musiconhold_entry) cannot be served over LDAP: use mode=files',
      });
      keepStatic(out, cat.name, v);
    }
    out.entries.push(b.entry);
  }
  out.families.push('musiconhold');
}
