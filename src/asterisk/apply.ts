// `convert --apply`: makes a running directory hold what the files define. Each converted entry
// is added when missing, or modified to match (attributes of its res_ldap.conf table that the
// files no longer set are deleted; object classes are only added); with --prune, entries of a
// family the files define but no longer name are deleted. The same DNs every time, so running
// it twice changes nothing the second time. --dry-run prints the changes as LDIF instead.
// Each file's changes are applied together: one LDAP transaction per file when the server
// offers RFC 5805 transactions, else one by one with what was done taken back on a failure.

import { formatLdifEntry } from '../ldif/ldif.js';
import { parseDn } from '../schema/dn.js';
import type { ConvertResult } from './convert.js';
import { ChangeFailed, type ApplyMode, type DirectoryClient, type EntryChange, type LdapEntry, type Modification } from './ldap-client.js';
import type { ExtConfig, ResLdapMapping } from './mapping.js';
import { dnKey, type DraftEntry } from './model.js';
import { entryAttributes } from './output.js';

/** The group of the containers (ou=...) every file's entries need: applied first, on their own. */
export const CONTAINERS = '(containers)';

export interface ApplyPlan {
  /** The files in the order they are applied (CONTAINERS first when there are any). */
  files: string[];
  adds: Array<DraftEntry & { file: string }>;
  modifies: Array<{ dn: string; label: string; mods: Modification[]; file: string }>;
  deletes: Array<{ dn: string; file: string }>;
  unchanged: number;
}

/**
 * Columns Asterisk itself writes back at run time. KEEP: set when an entry is added, never
 * reset by a later run (a member paused from the phone, a PIN changed in VoiceMailMain).
 * WRITTEN: registration state the files never set; a later run leaves it alone.
 */
const KEEP: Record<string, string[]> = {
  queue_members: ['paused', 'reason_paused'],
  voicemail: ['password'],
};
const WRITTEN: Record<string, string[]> = {
  sippeers: ['ipaddr', 'port', 'regseconds', 'fullcontact', 'useragent', 'lastms', 'regserver', 'defaultuser'],
  iaxpeers: ['ipaddr', 'port', 'regseconds', 'regserver'],
};

const attrsOf = (o: { mapping: ResLdapMapping }, table: string, columns: string[] | undefined) =>
  new Set((columns ?? []).map((c) => o.mapping.attribute(table, c)?.toLowerCase()).filter((a): a is string => a !== undefined));

export async function planApply(
  client: DirectoryClient,
  result: ConvertResult,
  o: { mapping: ResLdapMapping; ext: ExtConfig; prune: boolean },
): Promise<ApplyPlan> {
  const fileOf = new Map<DraftEntry, string>();
  for (const c of result.conversions) for (const e of c.entries) fileOf.set(e, c.file);
  const plan: ApplyPlan = {
    files: [CONTAINERS, ...result.conversions.map((c) => c.file)],
    adds: [],
    modifies: [],
    deletes: [],
    unchanged: 0,
  };
  for (const e of result.entries) {
    const file = fileOf.get(e) ?? CONTAINERS;
    const existing = await client.read(e.dn);
    if (!existing) {
      plan.adds.push({ ...e, file });
      continue;
    }
    if (e.family === 'container') {
      plan.unchanged++;
      continue;
    }
    const mods = diff(e, existing, o);
    if (mods.length) plan.modifies.push({ dn: existing.dn, label: e.label, mods, file });
    else plan.unchanged++;
  }
  if (o.prune) plan.deletes = await pruneList(client, result, o);
  return plan;
}

function diff(e: DraftEntry, existing: LdapEntry, o: { mapping: ResLdapMapping; ext: ExtConfig }): Modification[] {
  const mods: Modification[] = [];
  const classes = (existing.attrs.get('objectclass') ?? []).map((c) => c.toLowerCase());
  const missing = e.objectClasses.filter((c) => !classes.includes(c.toLowerCase()));
  if (missing.length) mods.push({ operation: 'add', type: 'objectClass', values: missing });
  const table = o.ext.binding(e.family).table;
  const keep = attrsOf(o, table, KEEP[e.family]);
  const written = attrsOf(o, table, WRITTEN[e.family]);
  for (const [type, values] of e.attributes) {
    const key = type.toLowerCase();
    if (key === 'cn') continue;
    const have = existing.attrs.get(key);
    if (have && keep.has(key)) continue;
    if (!have || have.length !== values.length || have.some((v, i) => v !== values[i])) mods.push({ operation: 'replace', type, values });
  }
  const wanted = new Set([...e.attributes.keys()].map((k) => k.toLowerCase()));
  for (const attr of o.mapping.attributes(table)) {
    const key = attr.toLowerCase();
    if (key === 'cn' || wanted.has(key) || keep.has(key) || written.has(key) || !existing.attrs.has(key)) continue;
    mods.push({ operation: 'delete', type: existing.names.get(key) ?? attr, values: [] });
  }
  return mods;
}

/** Entries of the families the files define completely that no file names any more, children first. */
async function pruneList(
  client: DirectoryClient,
  result: ConvertResult,
  o: { mapping: ResLdapMapping; ext: ExtConfig },
): Promise<ApplyPlan['deletes']> {
  const keep = new Set(result.entries.map((e) => dnKey(e.dn)));
  const out = new Map<string, string>();
  for (const c of result.conversions) {
    if (c.error) continue; // a file that did not parse defines nothing: prune nothing of it
    for (const family of c.families) {
      const b = o.ext.binding(family);
      const cls = o.mapping.table(b.table).filterClasses[0];
      if (!cls) continue;
      const fileAttr = family.endsWith('.conf') ? o.mapping.attribute(b.table, 'filename') : undefined;
      const filter = fileAttr ? `(&(objectClass=${cls})(${fileAttr}=${family}))` : `(objectClass=${cls})`;
      for (const e of await client.search(b.base, filter)) if (!keep.has(dnKey(e.dn)) && !out.has(e.dn)) out.set(e.dn, c.file);
    }
  }
  return [...out].map(([dn, file]) => ({ dn, file })).sort((a, b) => parseDn(b.dn).length - parseDn(a.dn).length);
}

/** The plan's changes file by file (adds, then modifies, then deletes), files without changes left out. */
export function changesByFile(plan: ApplyPlan): Array<{ file: string; changes: EntryChange[] }> {
  return plan.files
    .map((file) => ({
      file,
      changes: [
        ...plan.adds.filter((e) => e.file === file).map((e): EntryChange => ({ op: 'add', dn: e.dn, attributes: entryAttributes(e) })),
        ...plan.modifies.filter((m) => m.file === file).map((m): EntryChange => ({ op: 'modify', dn: m.dn, mods: m.mods })),
        ...plan.deletes.filter((d) => d.file === file).map((d): EntryChange => ({ op: 'delete', dn: d.dn })),
      ],
    }))
    .filter((g) => g.changes.length > 0);
}

/**
 * Applies the plan, each file's changes all or nothing (one transaction per file when the server
 * offers them). A file that fails is reported by name and change and the others go on: the
 * error at the end names every failed file and the files applied.
 */
export async function executePlan(client: DirectoryClient, plan: ApplyPlan): Promise<{ files: string[]; mode: ApplyMode }> {
  const done: string[] = [];
  const failures: string[] = [];
  let mode: ApplyMode = 'sequential';
  for (const { file, changes } of changesByFile(plan)) {
    try {
      mode = await client.applyChanges(changes);
      done.push(file);
    } catch (err) {
      const partial = !(err instanceof ChangeFailed) || err.partial;
      const what = partial ? `part of ${file} may have been applied` : `nothing of ${file} was applied`;
      failures.push(`${file}: ${(err as Error).message} (${what})`);
      // Without the containers no file's entries have a parent.
      if (file === CONTAINERS) break;
    }
  }
  if (failures.length) {
    const applied = done.length ? `; applied: ${done.join(', ')}` : '';
    throw new Error(`${failures.join('\n')}${applied}; run again after fixing it`);
  }
  return { files: done, mode };
}

/** The plan as LDIF change records (what --dry-run prints). */
export function planLdif(plan: ApplyPlan): string {
  const parts: string[] = [];
  for (const e of plan.adds) parts.push(formatLdifEntry(e.dn, [{ type: 'changetype', values: ['add'] }, ...entryAttributes(e)]));
  for (const m of plan.modifies) {
    const lines = [formatLdifEntry(m.dn, [{ type: 'changetype', values: ['modify'] }]).trimEnd()];
    for (const mod of m.mods)
      lines.push(
        formatLdifEntry('', [{ type: mod.type, values: mod.values }]).replace(/^dn: \n?/, `${mod.operation}: ${mod.type}\n`) + '-',
      );
    parts.push(lines.join('\n') + '\n');
  }
  for (const { dn } of plan.deletes) parts.push(formatLdifEntry(dn, [{ type: 'changetype', values: ['delete'] }]));
  return parts.join('\n');
}

export function planSummary(plan: ApplyPlan): string {
  return `${plan.adds.length} to add, ${plan.modifies.length} to modify, ${plan.deletes.length} to delete, ${plan.unchanged} unchanged`;
}
