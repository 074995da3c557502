// extensions.conf to realtime dialplan rows (pbx_realtime: context, exten, priority, app,
// appdata), where realtime can express a line. It cannot express [general] and [globals],
// `include =>`, `switch =>`, `ignorepat =>`, hints, caller-ID matches (exten/cid) or labels
// (a row has a number only): those are reported and stay in the static extensions.conf, whose
// contexts then `switch => Realtime/<context>@extensions`. Priorities `n` and `same =>` are
// resolved as pbx_config does.

import type { ConfigVariable, Origin, ParsedConfig } from './config-parser.js';
import { keepStatic, type Conversion, type ConvertContext } from './model.js';

export const DIALPLAN_CLASSES = ['AsteriskDialplan', 'AsteriskExtension'];
const STATIC_SECTIONS = new Set(['general', 'globals']);

export interface DialplanLine {
  exten: string;
  priority: number | 'hint';
  label?: string;
  app: string;
  appdata: string;
}

/** Splits "App(data)" (or the old "App,data") into application and data. */
export function splitApplication(text: string): { app: string; appdata: string } {
  const t = text.trim();
  const paren = t.indexOf('(');
  const comma = t.indexOf(',');
  if (paren > 0 && (comma < 0 || paren < comma))
    return { app: t.slice(0, paren).trim(), appdata: t.slice(paren + 1).replace(/\)\s*$/, '') };
  if (comma > 0) return { app: t.slice(0, comma).trim(), appdata: t.slice(comma + 1) };
  return { app: t, appdata: '' };
}

/** The extension lines of one context; throws a reason for a line realtime cannot take. */
class ContextReader {
  private exten: string | undefined;
  private priority = 0;

  line(v: ConfigVariable): DialplanLine {
    const isSame = v.name === 'same';
    const parts = v.value.split(',');
    const exten = isSame ? this.exten : parts.shift()!.trim();
    if (exten === undefined) throw new Error('same => without an exten => before it');
    const prioText = parts.shift()?.trim() ?? '';
    const rest = parts.join(',');
    if (exten !== this.exten) this.priority = 0;
    this.exten = exten;
    const m = /^(\d+|n|hint|s)(?:\+(\d+))?(?:\(([^)]*)\))?$/.exec(prioText);
    if (!m) throw new Error(`priority "${prioText}" is not a number, n, n(label) or hint`);
    if (m[1] === 'hint') return { exten, priority: 'hint', app: rest.trim(), appdata: '' };
    const p = m[1] === 'n' ? this.priority + 1 + Number(m[2] ?? 0) : m[1] === 's' ? this.priority : Number(m[1]);
    this.priority = p;
    return { exten, priority: p, label: m[3], ...splitApplication(rest) };
  }
}

/** A dial string of chan_sip's technology (SIP/..., not PJSIP/...). */
const CHAN_SIP_DIAL = /(^|[^a-z])SIP\//i;

export function convertDialplan(cfg: ParsedConfig, ctx: ConvertContext, out: Conversion): void {
  const skip = (origin: Origin, text: string, reason: string) => out.skipped.push({ origin, text, reason });
  // sip.conf moving to PJSIP (not kept on chan_sip with --chan-sip): SIP/ dial strings break.
  const toPjsip = ctx.files.has('sip.conf') && !ctx.chanSip;
  const check = (v: ConfigVariable, text: string) => {
    if (toPjsip && CHAN_SIP_DIAL.test(v.value))
      (out.notes ??= []).push({
        origin: v.origin,
        text,
        reason:
          'dials SIP/, chan_sip, which Asterisk 21 and later lack: rewrite it for PJSIP (SIP/peer is PJSIP/peer, SIP/peer/number is PJSIP/number@peer)',
      });
  };
  for (const cat of cfg.categories) {
    if (cat.template) continue;
    const reader = new ContextReader();
    let rows = 0;
    for (const v of cat.variables) {
      const keep = () => keepStatic(out, cat.name, v);
      const text = `${v.name} ${v.object ? '=>' : '='} ${v.value}`;
      const name = v.name.toLowerCase();
      if (STATIC_SECTIONS.has(cat.name.toLowerCase())) {
        skip(v.origin, text, `[${cat.name}] is not dialplan: keep it in the static extensions.conf`);
        keep();
        continue;
      }
      if (name === 'include' || name === 'switch' || name === 'ignorepat' || name === 'eswitch' || name === 'lswitch') {
        skip(v.origin, text, `realtime rows cannot express ${name} =>: keep it in the static [${cat.name}]`);
        keep();
        continue;
      }
      if (name !== 'exten' && name !== 'same') {
        skip(v.origin, text, `"${v.name}" is not a dialplan line`);
        keep();
        continue;
      }
      check(v, text);
      let line: DialplanLine;
      try {
        line = reader.line(v);
      } catch (err) {
        skip(v.origin, text, (err as Error).message);
        keep();
        continue;
      }
      if (line.priority === 'hint') {
        skip(v.origin, text, 'pbx_realtime serves no hints: keep the hint in the static extensions.conf');
        keep();
        continue;
      }
      if (line.exten.includes('/')) {
        skip(v.origin, text, 'realtime rows have no caller-ID match (exten/callerid)');
        keep();
        continue;
      }
      const id = `${line.exten}-${line.priority}${cat.name === 'default' ? '' : `@${cat.name}`}`;
      const b = ctx.builder('extensions', id, v.origin, `${line.exten},${line.priority}@${cat.name}`, DIALPLAN_CLASSES, out);
      b.set('context', [cat.name], v.origin, text);
      b.set('exten', [line.exten], v.origin, text);
      b.set('priority', [String(line.priority)], v.origin, text);
      b.set('app', [line.app], v.origin, text);
      if (line.appdata) b.set('appdata', [line.appdata], v.origin, text);
      out.entries.push(b.entry);
      rows++;
      if (line.label) skip(v.origin, text, `label (${line.label}) dropped: realtime rows have no labels, only priority ${line.priority}`);
    }
    if (rows) keepStatic(out, cat.name, { name: 'switch', value: `Realtime/${cat.name}@extensions`, object: true });
  }
  out.families.push('extensions');
}
