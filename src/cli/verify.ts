// `astldap verify`: prints what src/server/verify.ts found in a stopped server's database, a
// summary line per part and then each problem; the exit code says whether there were any.

import type { VerifyPart, VerifyReport } from '../server/verify.js';
import type { Base } from './offline.js';

/** Problems listed in full; beyond them, how many more. */
const LISTED_MAX = 500;

/**
 * 0 when the database is consistent, 1 when anything is wrong (each problem printed). `write`
 * resolves once its text is written out (main.ts's writeOut), so the exit cuts nothing short.
 */
export async function verifyCommand(base: Pick<Base, 'configFile' | 'dataDir'>, write: (text: string) => Promise<void>): Promise<number> {
  const { verifyDataDir } = await import('../server/verify.js');
  const report = await verifyDataDir(base);
  const lines = summary(report);
  const n = report.problems.length;
  if (!n) lines.push('OK: no problems found');
  else {
    lines.push(`FAILED: ${n} problem${n === 1 ? '' : 's'}`);
    for (const p of report.problems.slice(0, LISTED_MAX)) lines.push(`  ${p.part}: ${p.message}`);
    if (n > LISTED_MAX) lines.push(`  ... and ${n - LISTED_MAX} more`);
  }
  await write(lines.join('\n') + '\n');
  return n ? 1 : 0;
}

function summary(r: VerifyReport): string[] {
  const n = (part: VerifyPart) => r.problems.filter((p) => p.part === part).length;
  const count = (k: number, what: string, many = `${what}s`) => `${k} ${k === 1 ? what : many}`;
  return [
    `verified ${r.dbPath}`,
    `  entries   ${count(r.entries, 'entry', 'entries')} against the schema: ${count(n('entries'), 'problem')}`,
    `  indexes   ${count(r.indexes, 'attribute index', 'attribute indexes')}, the children index and the entry count: ${count(n('indexes'), 'problem')}`,
    `  sync log  ${count(r.syncRecords, 'record')}, contextCSN ${r.contextCsn ?? 'none'}: ${count(n('sync log'), 'problem')}`,
  ];
}
