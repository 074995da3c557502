// The converter's two outputs: LDIF content records (containers the packaged seed lacks first)
// and the report of what came from where and what was left out, with its exit status.

import { formatLdifEntry } from '../ldif/ldif.js';
import { seedDns, type ConvertResult } from './convert.js';
import { dnKey, type Conversion, type DraftEntry } from './model.js';

/** Exit status: 0 all converted, 3 some lines left out (listed), 1 a file could not be read. */
export const EXIT_LEFT_OVER = 3;

/** Option names whose values are secrets: the report shows that the line exists, not the value. */
const SECRET_OPTION = /^(\s*[\w.-]*(?:pass|secret|md5|token|cred|key)[\w.-]*\s*(?:=>|\+=|=)\s*)\S.*$/i;

/** A report line without its secret: `password=...` and friends become `password=<hidden>`. */
export function redact(text: string): string {
  return text.replace(SECRET_OPTION, '$1<hidden>');
}

export function entryAttributes(e: DraftEntry): Array<{ type: string; values: string[] }> {
  return [{ type: 'objectClass', values: e.objectClasses }, ...[...e.attributes].map(([type, values]) => ({ type, values }))];
}

export function toLdif(result: ConvertResult): string {
  const seed = seedDns();
  const parts = [
    '# Written by astldap asterisk convert: Asterisk realtime entries for the shipped res_ldap.conf layout.\n' +
      '# Load on top of data/seed.ldif (ldapadd), or let `astldap asterisk convert --apply` add and update them.\n',
  ];
  for (const e of result.entries) {
    if (e.family === 'container' && seed.has(dnKey(e.dn))) continue;
    const origin = e.family === 'container' ? '' : `# ${e.label} (${e.origin.file}:${e.origin.line})\n`;
    parts.push(origin + formatLdifEntry(e.dn, entryAttributes(e)));
  }
  return parts.join('\n');
}

export function exitStatus(result: ConvertResult): number {
  if (result.conversions.some((c) => c.error)) return 1;
  return result.conversions.some((c) => c.skipped.length) ? EXIT_LEFT_OVER : 0;
}

export function reportText(result: ConvertResult, verbose = false): string {
  const lines: string[] = [];
  for (const c of result.conversions) {
    if (c.error) {
      lines.push(`${c.file}: NOT CONVERTED (nothing from this file): ${c.error}`);
      continue;
    }
    const counts = new Map<string, number>();
    for (const e of c.entries) counts.set(e.family, (counts.get(e.family) ?? 0) + 1);
    const summary = [...counts].map(([f, n]) => `${n} ${f}`).join(', ') || 'no entries';
    const notes = c.notes ?? [];
    lines.push(`${c.file}: ${summary}; ${c.skipped.length} line(s) not converted${notes.length ? `, ${notes.length} to check` : ''}`);
    if (verbose) for (const e of c.entries) lines.push(`  ${e.origin.file}:${e.origin.line} ${e.label} -> ${e.dn}`);
    for (const s of c.skipped) lines.push(`  not converted ${s.origin.file}:${s.origin.line}: ${redact(s.text)}  (${s.reason})`);
    for (const s of notes) lines.push(`  check ${s.origin.file}:${s.origin.line}: ${redact(s.text)}  (${s.reason})`);
  }
  const left = result.conversions.reduce((n, c) => n + c.skipped.length, 0);
  const failed = result.conversions.filter((c) => c.error).map((c) => c.file);
  if (failed.length) lines.push(`exit 1: not converted at all: ${failed.join(', ')}`);
  else lines.push(left ? `exit ${EXIT_LEFT_OVER}: ${left} line(s) not converted (listed above)` : 'exit 0: everything converted');
  return lines.join('\n') + '\n';
}

/**
 * What stays in the static file after the conversion: the sections and lines realtime cannot
 * hold, plus `switch => Realtime/<context>@extensions` for every converted dialplan context.
 * Undefined when nothing stays (or the file did not parse: keep the original then).
 */
export function remainderText(c: Conversion): string | undefined {
  if (c.error || !c.remainder.length) return undefined;
  const head = `; ${c.file}: what astldap asterisk convert left for the static file (the rest is in the directory).\n`;
  return head + c.remainder.map((s) => `\n[${s.name}]\n${s.lines.join('\n')}\n`).join('');
}

/** The report as data, for --json. */
export function reportJson(result: ConvertResult): unknown {
  return result.conversions.map((c) => ({
    file: c.file,
    error: c.error,
    entries: c.entries.map((e) => ({ dn: e.dn, family: e.family, label: e.label, file: e.origin.file, line: e.origin.line })),
    notConverted: c.skipped.map((s) => ({ file: s.origin.file, line: s.origin.line, text: redact(s.text), reason: s.reason })),
    check: (c.notes ?? []).map((s) => ({ file: s.origin.file, line: s.origin.line, text: redact(s.text), reason: s.reason })),
  }));
}
