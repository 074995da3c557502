#!/usr/bin/env node
// The store's own cost of a read, without the protocol: N random `uid=userN` reads through an
// opened store, in this process, with the young and full collections' time. Modes: bind (a
// read by DN, as a bind does), search (the uid posting list, then each entry), idof (layout 3's
// dn2id resolution alone). DBPATH is a database `npm run bench` made and kept (BENCH_KEEP=1:
// WORK/astldap/db); it is opened as found (no reindex, nothing written).
// Usage: node bench/store-reads.mjs DBPATH bind|search|idof [N=200000] [DIST=dist]

import { Level } from 'level';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [dbPath, mode = 'bind', nArg, distArg] = process.argv.slice(2);
if (!dbPath) throw new Error('usage: node bench/store-reads.mjs DBPATH bind|search|idof [N] [DIST]');
const N = Number(nArg ?? 200_000);
const SUFFIX = 'dc=example,dc=com';
const PEOPLE = 100_000;

const probe = new Level(dbPath, { keyEncoding: 'utf8', valueEncoding: 'utf8', createIfMissing: false });
await probe.open();
const specs = JSON.parse(probe.getSync('x\x00indexspec')).map(([attr, eq, pres, sub]) => ({ attr, eq, pres, sub }));
const layout = probe.getSync('x\x00layout') === '3' ? 3 : 2;
await probe.close();

const mod = await import(pathToFileURL(path.join(path.resolve(root, distArg ?? 'dist'), 'store', 'index.js')).href);
const Impl = layout === 3 ? mod.IdStore : mod.LevelStore;
const indexer = (rec, attr) => (rec.attrs[attr] ?? []).map((v) => v.toLowerCase());
const store = new Impl({ path: dbPath, indexes: specs, indexer, asFound: true, sync: false });
await store.open();

let seed = 12345;
const next = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % PEOPLE;
};
async function one() {
  const i = next();
  const ndn = `uid=user${i},ou=people,${SUFFIX}`;
  if (mode === 'idof') {
    if (layout !== 3) throw new Error('idof: a layout-3 database only');
    if (store.idOf(ndn) === undefined) throw new Error(`no ID for ${ndn}`);
  } else if (mode === 'bind') {
    if (!store.getNow(ndn)) throw new Error(`no entry ${ndn}`);
  } else {
    const found = await store.lookupEquality('uid', `user${i}`);
    if (found.length !== 1 || !store.getNow(found[0])) throw new Error(`uid=user${i}: ${found.length} entries`);
  }
}

for (let k = 0; k < 50_000; k++) await one(); // warm the caches and the code
const gc = { young: 0, full: 0 };
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gc[e.detail?.kind === 1 ? 'young' : 'full'] += e.duration;
});
obs.observe({ entryTypes: ['gc'] });
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
for (let k = 0; k < N; k++) await one();
const ns = Number(process.hrtime.bigint() - t0);
const cpu = process.cpuUsage(cpu0);
await new Promise((r) => setTimeout(r, 50));
obs.disconnect();
const mib = (b) => Math.round(b / 1048576);
console.log(
  JSON.stringify({
    layout,
    mode,
    usPerRead: +(ns / N / 1000).toFixed(2),
    cpuUsPerRead: +((cpu.user + cpu.system) / N).toFixed(2),
    youngGcMs: Math.round(gc.young),
    fullGcMs: Math.round(gc.full),
    heapMiB: mib(process.memoryUsage().heapUsed),
    rssMiB: mib(process.memoryUsage().rss),
  }),
);
await store.close();
