// `astldap verify`: a stopped server's database checked whole, offline, as slapschema checks
// slapd's: every entry against the schema (the files and what was changed over LDAP), every
// index against the entries both ways (a key missing, a key no entry accounts for), and the
// replication state (contextCSN, session log) against the entries. The database is opened as
// found: nothing is rebuilt or written.

import { existsSync } from 'node:fs';
import { loadConfig } from '../config/config.js';
import { indexSpecs, makeIndexer } from '../directory/indexing.js';
import { readSyncLog, whereNow } from '../directory/sync/log.js';
import { parentNdn } from '../ldap/ndn.js';
import { LdapError } from '../ldap/result.js';
import { normalizeDn } from '../schema/dn.js';
import { buildRegistry, fileSources, mergeStored, SCHEMA_META_KEY, type SchemaSourceText } from '../schema/manager.js';
import type { SchemaRegistry } from '../schema/registry.js';
import { openAsFound, type IdStore, type LevelStore } from '../store/index.js';
import type { EntryRecord, NormalizedDn } from '../store/types.js';
import { DataDirLock } from './lock.js';

export type VerifyPart = 'entries' | 'indexes' | 'sync log';

export interface VerifyProblem {
  part: VerifyPart;
  message: string;
}

export interface VerifyReport {
  dbPath: string;
  entries: number;
  indexes: number;
  syncRecords: number;
  contextCsn: string | undefined;
  problems: VerifyProblem[];
}

/** What one pass over the entries keeps for the later checks. */
interface EntryFacts {
  ndns: Set<NormalizedDn>;
  /** entryUUID → where the entry is and its entryCSN. */
  byUuid: Map<string, { ndn: NormalizedDn; csn: string }>;
}

/** Opens the data directory's database as found (its lock taken) and checks it. */
export async function verifyDataDir(opts: { configFile?: string; dataDir?: string }): Promise<VerifyReport> {
  const config = loadConfig({ file: opts.configFile, overrides: opts.dataDir !== undefined ? { dataDir: opts.dataDir } : undefined });
  if (config.memory) throw new Error('the configuration keeps the database in memory: there is nothing on disk to verify');
  if (!existsSync(config.dbPath)) throw new Error(`no database at ${config.dbPath}`);
  const lock = DataDirLock.acquire(config.dataDir);
  try {
    const files = fileSources(config.schema.dir, config.schema.files);
    let schema = buildRegistry(files);
    const store = await openAsFound({ path: config.dbPath, indexes: indexSpecs(config, schema), indexer: makeIndexer(() => schema) });
    try {
      const problems: VerifyProblem[] = [];
      const say = (part: VerifyPart) => (message: string) => problems.push({ part, message });
      const stored = await store.getMeta(SCHEMA_META_KEY);
      try {
        if (stored) schema = buildRegistry(mergeStored(files, JSON.parse(stored) as SchemaSourceText[]));
      } catch (err) {
        say('entries')(
          `the schema changed over LDAP (stored in the database) does not build: ${(err as Error).message}; checked against the files alone`,
        );
      }
      const suffixNdn = normalizeDn(config.suffix, schema);
      const facts = await checkEntries(store, schema, suffixNdn, say('entries'));
      await checkIndexes(store, say('indexes'));
      const log = await readSyncLog(store);
      checkSyncLog(log, facts, say('sync log'));
      return {
        dbPath: config.dbPath,
        entries: facts.ndns.size,
        indexes: store.indexes.size,
        syncRecords: log.records.length,
        contextCsn: log.contextCsn,
        problems,
      };
    } finally {
      await store.close();
    }
  } finally {
    lock.release();
  }
}

/** Every stored entry (by its key, not through the children index) against the schema. */
async function checkEntries(
  store: LevelStore | IdStore,
  schema: SchemaRegistry,
  suffixNdn: string,
  say: (m: string) => void,
): Promise<EntryFacts> {
  const facts: EntryFacts = { ndns: new Set(), byUuid: new Map() };
  for await (const [ndn, text] of store.storedEntries()) {
    facts.ndns.add(ndn);
    let rec: EntryRecord;
    try {
      rec = JSON.parse(text) as EntryRecord;
      if (typeof rec.dn !== 'string' || typeof rec.attrs !== 'object' || rec.attrs === null) throw new Error('not an entry record');
    } catch (err) {
      say(`${JSON.stringify(ndn)}: the stored entry does not parse (${(err as Error).message})`);
      continue;
    }
    for (const m of entryProblems(schema, ndn, rec)) say(`${rec.dn}: ${m}`);
    const uuid = rec.attrs['entryuuid']?.[0];
    if (!uuid) say(`${rec.dn}: no entryUUID`);
    else if (facts.byUuid.has(uuid)) say(`${rec.dn}: entryUUID ${uuid} is also ${facts.byUuid.get(uuid)!.ndn}'s`);
    else facts.byUuid.set(uuid, { ndn, csn: rec.attrs['entrycsn']?.[0] ?? '' });
  }
  // Orphans, one line per missing parent (a lost parent orphans all its children).
  const orphans = new Map<NormalizedDn, NormalizedDn[]>();
  for (const ndn of facts.ndns) {
    if (ndn === '' || ndn === suffixNdn || facts.ndns.has(parentNdn(ndn))) continue;
    const list = orphans.get(parentNdn(ndn)) ?? [];
    list.push(ndn);
    orphans.set(parentNdn(ndn), list);
  }
  for (const [parent, children] of orphans) {
    const which =
      children.length === 1
        ? `${JSON.stringify(children[0])} has`
        : `${children.length} entries (the first ${JSON.stringify(children[0])}) have`;
    say(`${which} no parent: ${JSON.stringify(parent)} is not stored`);
  }
  return facts;
}

/** What is wrong with one entry: its key, the schema's rules, each value's syntax. */
function entryProblems(schema: SchemaRegistry, ndn: NormalizedDn, rec: EntryRecord): string[] {
  const out: string[] = [];
  try {
    const want = normalizeDn(rec.dn, schema);
    if (want !== ndn) out.push(`stored under ${JSON.stringify(ndn)}, but its DN normalises to ${JSON.stringify(want)}`);
  } catch (err) {
    out.push(`its DN does not parse (${(err as Error).message})`);
  }
  if (ndn === '') return out; // the root DSE's stored attributes are not an entry of the schema
  try {
    schema.checkEntry(rec.attrs);
  } catch (err) {
    if (!(err instanceof LdapError)) throw err;
    out.push(`${err.message} (result ${err.code})`);
  }
  for (const [key, vals] of Object.entries(rec.attrs)) {
    const type = schema.attributeType(key.split(';')[0]!);
    if (!type) continue; // reported by checkEntry
    vals.forEach((v, i) => {
      if (!type.syntax.validate(v)) out.push(`${key}: value #${i} invalid per syntax`);
    });
  }
  return out;
}

/** The entry count, the children index and every attribute index against the entries. */
async function checkIndexes(store: LevelStore | IdStore, say: (m: string) => void): Promise<void> {
  if (!store.indexesCurrent) {
    say('the indexes were built for another index configuration or key layout (store.indexes changed): a start rebuilds them');
    return;
  }
  // A few attributes at a time, so only their keys are held: every index without substrings
  // with the count and the children, then each substring index (many keys per value) alone.
  const specs = [...store.indexes.values()];
  const passes = [
    { attrs: specs.filter((s) => !s.sub).map((s) => s.attr), bookkeeping: true },
    ...specs.filter((s) => s.sub).map((s) => ({ attrs: [s.attr], bookkeeping: false })),
  ];
  try {
    for (const part of passes) for (const m of await store.check(part)) say(m);
  } catch (err) {
    say(`the index check stopped: ${(err as Error).message}`);
  }
}

/**
 * The replication state against the entries: no entry changed after the contextCSN; each
 * entry's last logged change says where it is now (or that it is gone); every change after the
 * horizon is in the log (a consumer's delta refresh relies on it).
 */
function checkSyncLog(log: Awaited<ReturnType<typeof readSyncLog>>, facts: EntryFacts, say: (m: string) => void): void {
  const context = log.contextCsn;
  if (!context) {
    if (facts.ndns.size) say('no contextCSN is stored');
    return;
  }
  if (log.horizon && log.horizon > context) say(`the session log's horizon ${log.horizon} is newer than the contextCSN ${context}`);
  const last = new Map<string, (typeof log.records)[number]>();
  for (const r of log.records) {
    if (r.csn > context) say(`a change logged at ${r.csn} is newer than the contextCSN ${context}`);
    const seen = last.get(r.uuid);
    if (!seen || r.csn >= seen.csn) last.set(r.uuid, r);
  }
  // A subtree moved by its top entry carries the entries logged below it (they are not logged again).
  const now = whereNow(log.records);
  for (const [uuid, r] of last) {
    const e = facts.byUuid.get(uuid);
    if (r.kind === 'delete') {
      if (e) say(`entryUUID ${uuid} is logged as deleted (${r.csn}) but is stored at ${JSON.stringify(e.ndn)}`);
    } else if (!e) say(`entryUUID ${uuid} is logged (${r.kind}, ${r.csn}) at ${JSON.stringify(r.ndn)} but no entry has it`);
    else if (e.ndn !== now.get(uuid))
      say(`entryUUID ${uuid} is logged at ${JSON.stringify(now.get(uuid))} but stored at ${JSON.stringify(e.ndn)}`);
  }
  const horizon = log.horizon ?? '';
  for (const [uuid, e] of facts.byUuid) {
    if (e.csn > context) say(`${JSON.stringify(e.ndn)}: entryCSN ${e.csn} is newer than the contextCSN ${context}`);
    if (e.csn > horizon && !((last.get(uuid)?.csn ?? '') >= e.csn)) {
      say(`${JSON.stringify(e.ndn)}: changed at ${e.csn}, after the session log's horizon ${horizon}, but not in the log`);
    }
  }
}
