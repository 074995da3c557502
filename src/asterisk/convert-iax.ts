// iax.conf to the chan_iax2 realtime rows (iaxpeers/iaxusers share the [iax] table and ou=sip):
// one entry per peer, user or friend, laid out as data/asterisk/sample.ldif lays out cn=2000.
// IAX2 computes its MD5 challenge from the plain secret, so the secret stays as written.
// [general] (and its `register =>` lines) configures chan_iax2 itself and stays in the file.

import type { ParsedConfig } from './config-parser.js';
import { columnsOf, keepSection, type Conversion, type ConvertContext } from './model.js';

export const IAX_CLASSES = ['top', 'AsteriskAccount', 'AsteriskExtension', 'AsteriskIAXUser', 'AstldapIaxUser'];
const IAX_LIST_OPTIONS = new Set(['allow', 'disallow', 'permit', 'deny', 'setvar']);

export function convertIax(cfg: ParsedConfig, ctx: ConvertContext, out: Conversion): void {
  for (const cat of cfg.categories) {
    if (cat.template) continue;
    if (cat.name.toLowerCase() === 'general' || cat.name.toLowerCase() === 'callnumberlimits') {
      keepSection(out, cat, `[${cat.name}] configures chan_iax2 itself: keep it in the static iax.conf`);
      continue;
    }
    const b = ctx.builder('iaxpeers', cat.name, cat.origin, `iax ${cat.name}`, IAX_CLASSES, out);
    b.setAttribute('AstAccountName', [cat.name]);
    for (const col of columnsOf(cat, new Set(), IAX_LIST_OPTIONS)) b.set(col.name, col.values, { file: col.file, line: col.line });
    out.entries.push(b.entry);
  }
  out.families.push('iaxpeers');
}
