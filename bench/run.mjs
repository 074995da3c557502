#!/usr/bin/env node
// npm run bench: the same data and the same libldap load generator against a private slapd
// (Debian's, back-mdb) and against astldap, alternating, in one run; prints medians and ratios.
//
// Needs: apt-get install -y slapd ldap-utils libldap-dev (and a C compiler). The load generator
// is bench/ldapload.c (the neutral one from ../shared/bench with -e N for multi-entry searches;
// LDAPLOAD_SRC overrides the path), compiled into a temporary folder. Env: BENCH_N (entries,
// 100000), BENCH_SECONDS (5), BENCH_RUNS (3); BENCH_QUICK=1 for a developer's loop (10k
// entries, 2 s per case, one run). Besides the case table it prints one row of the scale table
// (import time, peak import memory, resident memory, on-disk size, start-up, peer lookup), the
// mixed PBX case (bench/pbxload.c: calls, re-registrations and qualify updates at once against
// 10k PJSIP phones; BENCH_PBX_CALLS, _REGS, _QUALS, _SECONDS) and what one persistent syncrepl
// consumer costs astldap's writes (CPU per change around BENCH_CONSUMER_CHANGES changes).
// BENCH_LAYOUT=2 builds astldap's database in store layout 2 (3, the default layout, otherwise).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'ldapts';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './ports.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_N ?? (QUICK ? 10000 : 100000));
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 2 : 5));
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
/** Static configuration: files of ROWS rows each, loaded by one search. */
const CONFIG_FILES = 20;
const CONFIG_ROWS = 50;
/** Entries added online with ldapadd. */
const ONLINE_ADDS = Number(process.env.BENCH_ONLINE_ADDS ?? (QUICK ? 1000 : 10000));
const SUFFIX = 'dc=example,dc=com';
/** BENCH_CASES: a regular expression; only the cases whose name matches run (a developer's loop). */
const CASES = process.env.BENCH_CASES ? new RegExp(process.env.BENCH_CASES, 'i') : null;
/** BENCH_KEEP=1: keep the work folder (both databases, the LDIF, ldapload) and print its path. */
const KEEP = process.env.BENCH_KEEP === '1';
/**
 * The V8 flags `npm start` gives the server (its young-generation limit), for the server the bench starts;
 * BENCH_NODE_ARGS adds more (`--cpu-prof --cpu-prof-dir=DIR`: a profile of the server, written when it stops).
 */
/** The store layout astldap's database is built in (BENCH_LAYOUT: 3 by default, as astldap's; 2: entries by DN). */
const LAYOUT = Number(process.env.BENCH_LAYOUT ?? 3) === 2 ? 2 : 3;
const NODE_FLAGS = [
  ...JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
    .scripts.start.split(' ')
    .filter((w) => w.startsWith('--')),
  ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
];
const work = mkdtempSync(path.join(tmpdir(), 'astldap-bench-'));
const slapdBin = existsSync('/usr/sbin/slapd') ? '/usr/sbin/slapd' : 'slapd';
const slapaddBin = existsSync('/usr/sbin/slapadd') ? '/usr/sbin/slapadd' : 'slapadd';

function log(m) {
  process.stderr.write(m + '\n');
}

function ssha(pw) {
  const salt = randomBytes(8);
  const h = createHash('sha1').update(pw).update(salt).digest();
  return '{SSHA}' + Buffer.concat([h, salt]).toString('base64');
}

/**
 * The LDIF's records go to FILE as they are made, a few MiB at a time (a 10M-entry file is
 * gigabytes: more than one string can hold).
 */
function ldifWriter(file) {
  const fd = openSync(file, 'w', 0o600);
  let parts = [];
  let size = 0;
  const flush = () => {
    if (parts.length) writeSync(fd, parts.join(''));
    parts = [];
    size = 0;
  };
  return {
    push(...records) {
      for (const r of records) {
        parts.push(r, '\n');
        size += r.length + 1;
      }
      if (size > 4 << 20) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

function makeLdif(file) {
  const out = ldifWriter(file);
  out.push(`dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n`);
  out.push(`dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`);
  out.push(`dn: ou=sip,${SUFFIX}\nobjectClass: organizationalUnit\nou: sip\n`);
  for (let i = 0; i < N; i++) {
    out.push(
      `dn: uid=user${i},ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: user${i}\ncn: User ${i}\nsn: ${i}\n` +
        `mail: user${i}@example.com\ndescription: d\nuserPassword: ${ssha('pw' + i)}\n`,
    );
  }
  // Asterisk's pattern: SIP peers looked up by cn under ou=sip, registration attributes replaced.
  const peers = Math.min(N, 10000);
  for (let i = 0; i < peers; i++) {
    out.push(
      `dn: cn=${i},ou=sip,${SUFFIX}\nobjectClass: AsteriskAccount\nobjectClass: AsteriskSIPUser\ncn: ${i}\n` +
        `AstAccountName: peer ${i}\nAstAccountHost: dynamic\nAstAccountContext: default\nAstAccountIPAddress: 0.0.0.0\n`,
    );
  }
  // Dialplan extensions in one big context (Asterisk's usual 'default').
  const extensions = Math.min(N, 10000);
  out.push(`dn: ou=extensions,${SUFFIX}\nobjectClass: organizationalUnit\nou: extensions\n`);
  for (let i = 0; i < extensions; i++) {
    out.push(
      `dn: cn=ext${i},ou=extensions,${SUFFIX}\nobjectClass: applicationProcess\nobjectClass: AsteriskExtension\ncn: ext${i}\n` +
        `AstContext: default\nAstExtension: ${i}\nAstPriority: 1\nAstApplication: Dial\nAstApplicationData: SIP/${i}\n`,
    );
  }
  // Static configuration rows (res_config_ldap's static load reads one file's rows at once).
  out.push(`dn: ou=config,${SUFFIX}\nobjectClass: organizationalUnit\nou: config\n`);
  for (let f = 0; f < CONFIG_FILES; f++) {
    for (let r = 0; r < CONFIG_ROWS; r++) {
      out.push(
        `dn: cn=f${f}r${r},ou=config,${SUFFIX}\nobjectClass: applicationProcess\nobjectClass: AsteriskConfig\ncn: f${f}r${r}\n` +
          `AstConfigFilename: file${f}.conf\nAstConfigCategory: cat${r % 5}\nAstConfigCategoryMetric: ${r % 5}\n` +
          `AstConfigVariableName: var${r}\nAstConfigVariableValue: value ${r}\nAstConfigCommented: FALSE\n`,
      );
    }
  }
  const phones = pbxLdif(out, Math.min(N, 10000));
  out.close();
  const entries = 5 + N + peers + extensions + CONFIG_FILES * CONFIG_ROWS + 5 + 4 * phones;
  return { peers, extensions, phones, entries };
}

/**
 * The PBX: PHONES PJSIP endpoints with their auth, AOR and one contact each (sorcery's ps_* tables
 * as data/asterisk/res_ldap.conf lays them out: one OU per table under ou=pjsip). Phone I dials
 * and is dialled as extension I (the dialplan above). Returns PHONES.
 */
function pbxLdif(out, phones) {
  out.push(`dn: ou=pjsip,${SUFFIX}\nobjectClass: organizationalUnit\nou: pjsip\n`);
  for (const ou of ['endpoints', 'auths', 'aors', 'contacts']) {
    out.push(`dn: ou=${ou},ou=pjsip,${SUFFIX}\nobjectClass: organizationalUnit\nou: ${ou}\n`);
  }
  const pj = `ou=pjsip,${SUFFIX}`;
  for (let i = 0; i < phones; i++) {
    out.push(
      `dn: cn=${i},ou=endpoints,${pj}\nobjectClass: AstldapPjsipEndpoint\ncn: ${i}\nAstPjsipEndpointAors: ${i}\n` +
        `AstPjsipEndpointAuth: ${i}\nAstAccountContext: default\nAstAccountDisallowedCodec: all\nAstAccountAllowedCodec: ulaw,alaw\n` +
        `AstAccountCallerID: "Phone ${i}" <${i}>\nAstAccountMailbox: ${i}@default\nAstPjsipEndpointDirectMedia: no\n` +
        `AstPjsipEndpointRewriteContact: yes\nAstPjsipEndpointRtpSymmetric: yes\nAstPjsipEndpointForceRport: yes\n`,
      `dn: cn=${i},ou=auths,${pj}\nobjectClass: AstldapPjsipAuth\ncn: ${i}\nAstPjsipAuthAuthType: md5\n` +
        `AstPjsipAuthUsername: ${i}\nAstPjsipAuthRealm: asterisk\n` +
        `AstPjsipAuthMd5Cred: ${createHash('md5').update(`${i}:asterisk:pw${i}`).digest('hex')}\n`,
      `dn: cn=${i},ou=aors,${pj}\nobjectClass: AstldapPjsipAor\ncn: ${i}\nAstPjsipAorMaxContacts: 1\n` +
        `AstPjsipAorRemoveExisting: yes\nAstPjsipAorQualifyFrequency: 60\nAstAccountMailbox: ${i}@default\n`,
      // Sorcery's contact id is "AOR;@HASH"; bench/pbxload.c replaces a contact with generation g+1.
      `dn: cn=${i}\\;@g0,ou=contacts,${pj}\nobjectClass: AstldapPjsipContact\ncn: ${i};@g0\n` +
        `AstPjsipContactEndpoint: ${i}\nAstPjsipContactUri: sip:${i}@192.0.2.${(i % 250) + 1}:5060\n` +
        `AstPjsipContactExpirationTime: 1767225600\nAstPjsipContactQualifyFrequency: 60\n` +
        `AstPjsipContactViaAddr: 192.0.2.${(i % 250) + 1}\nAstPjsipContactViaPort: 5060\n` +
        `AstPjsipContactCallId: c${i}@phone\nAstAccountUserAgent: Phone/1.0\nAstAccountRegistrationServer: pbx1\n`,
    );
  }
  return phones;
}

/** New entries for the online ldapadd case (under ou=online, added first). */
function onlineLdif() {
  const out = [`dn: ou=online,${SUFFIX}\nobjectClass: organizationalUnit\nou: online\n`];
  for (let i = 0; i < ONLINE_ADDS; i++) {
    out.push(
      `dn: uid=new${i},ou=online,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: new${i}\ncn: New ${i}\nsn: ${i}\nmail: new${i}@example.com\n`,
    );
  }
  return out.join('\n');
}

function buildLoader(name = 'ldapload', src = process.env.LDAPLOAD_SRC ?? path.join(root, 'bench', 'ldapload.c')) {
  if (!existsSync(src)) throw new Error(`load generator source not found at ${src} (set LDAPLOAD_SRC)`);
  const bin = path.join(work, name);
  execFileSync('cc', ['-O2', '-o', bin, src, '-lldap', '-llber', '-lpthread']);
  return bin;
}

async function startSlapd(ldifFile) {
  const dir = path.join(work, 'slapd');
  mkdirSync(path.join(dir, 'db'), { recursive: true });
  const port = await freePort();
  const schemas = ['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include /etc/ldap/schema/${s}.schema`);
  schemas.push(`include ${path.join(root, 'schema', 'asterisk.schema')}`);
  schemas.push(`include ${path.join(root, 'schema', 'astldap-asterisk.schema')}`);
  const conf = [
    ...schemas,
    `pidfile ${dir}/slapd.pid`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'sizelimit unlimited',
    'database mdb',
    `maxsize ${Math.max(4 * 2 ** 30, N * 4096)}`,
    `suffix "${SUFFIX}"`,
    `rootdn "cn=admin,${SUFFIX}"`,
    'rootpw secret',
    `directory ${dir}/db`,
    'index objectClass eq',
    'index cn,uid,mail eq,sub',
    'index AstContext,AstExtension,AstConfigFilename eq',
    'access to * by * write',
  ].join('\n');
  writeFileSync(path.join(dir, 'slapd.conf'), conf + '\n');
  const { ms: loadMs, peakMiB } = timed(slapaddBin, ['-q', '-f', path.join(dir, 'slapd.conf'), '-l', ldifFile]);
  const t1 = Date.now();
  execFileSync(slapdBin, ['-f', path.join(dir, 'slapd.conf'), '-h', `ldap://127.0.0.1:${port}/`]);
  await waitFor(port);
  const startMs = Date.now() - t1;
  const pid = Number(readFileSync(path.join(dir, 'slapd.pid'), 'utf8'));
  const diskMiB = duMiB(path.join(dir, 'db'));
  return { name: 'slapd', url: `ldap://127.0.0.1:${port}`, pid, loadMs, peakMiB, startMs, diskMiB, stop: () => process.kill(pid) };
}

async function startAstldap(ldifFile) {
  const dir = path.join(work, 'astldap');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const cfg = (sync) =>
    [
      `suffix: ${SUFFIX}`,
      `admin: { dn: "cn=admin,${SUFFIX}", password: secret }`,
      `dataDir: ${dir}`,
      'seed: null',
      `store: { sync: ${sync}, layout: ${LAYOUT}, indexes: { objectClass: [eq, pres], cn: [eq, sub], uid: [eq, sub], mail: [eq, sub], ` +
        `AstContext: [eq], AstExtension: [eq], AstConfigFilename: [eq] } }`,
      `limits: { sizeLimit: 0, timeLimit: 0, maxPduSize: 4194304, idleTimeout: 0, maxConnections: 4096, unlimited: [] }`,
      'log: { level: warn }',
      'adminApi: { enabled: false }',
    ].join('\n');
  writeFileSync(path.join(dir, 'load.yaml'), cfg(false) + '\n');
  writeFileSync(path.join(dir, 'serve.yaml'), cfg(true) + '\n');
  const cli = path.join(root, 'dist', 'cli', 'main.js');
  const { ms: loadMs, peakMiB } = timed(process.execPath, [cli, 'import', ldifFile, '--config', path.join(dir, 'load.yaml')]);
  const t1 = Date.now();
  const child = spawn(
    process.execPath,
    [...NODE_FLAGS, cli, 'serve', '--config', path.join(dir, 'serve.yaml'), '--listen', `ldap://127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await waitFor(port);
  const startMs = Date.now() - t1;
  const diskMiB = duMiB(path.join(dir, 'db'));
  return {
    name: 'astldap',
    url: `ldap://127.0.0.1:${port}`,
    pid: child.pid,
    loadMs,
    peakMiB,
    startMs,
    diskMiB,
    stop: () => child.kill('SIGTERM'),
  };
}

/** Runs a command to completion: wall-clock time and peak resident size (GNU time's %M). */
function timed(cmd, args) {
  const t0 = Date.now();
  const useTime = existsSync('/usr/bin/time');
  const res = useTime
    ? spawnSync('/usr/bin/time', ['-f', 'PEAK_KB=%M', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] })
    : spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Date.now() - t0;
  if (res.status !== 0) throw new Error(`${cmd} failed: ${res.stderr}`);
  const m = /PEAK_KB=(\d+)/.exec(res.stderr ?? '');
  return { ms, peakMiB: m ? Math.round(Number(m[1]) / 1024) : NaN };
}

function duMiB(dir) {
  const out = execFileSync('du', ['-sk', dir], { encoding: 'utf8' });
  return Math.round(Number(out.split(/\s/)[0]) / 1024);
}

/** ldapadd of the online entries (one connection, one add at a time): milliseconds. */
function onlineAdd(server, file) {
  const t0 = Date.now();
  execFileSync('ldapadd', ['-x', '-H', server.url, '-D', `cn=admin,${SUFFIX}`, '-w', 'secret', '-f', file], { stdio: 'ignore' });
  return Date.now() - t0;
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** One ldapload run of case C: for SECONDS, or (COUNT) until each connection made COUNT requests (at most 120 s). */
function runLoad(bin, server, c, count = 0) {
  const seconds = count ? 120 : SECONDS;
  const args = ['-H', server.url, '-o', c.op, '-c', String(c.conns), '-k', String(c.depth), '-t', String(seconds), '-n', String(c.n)];
  args.push(...c.args, '-D', c.binddn ?? `uid=user%d,ou=people,${SUFFIX}`, '-e', String(c.expect ?? 1));
  if (count) args.push('-x', String(count));
  const out = execFileSync(bin, args, { encoding: 'utf8' });
  const m = /ops\/s=(\d+) p50_us=(\d+) p99_us=(\d+) errors=(\d+) total=(\d+)/.exec(out);
  if (!m) throw new Error(`unexpected ldapload output: ${out}`);
  return { ops: Number(m[1]), p50: Number(m[2]), p99: Number(m[3]), errors: Number(m[4]), total: Number(m[5]) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/**
 * Runs fn while one persistent syncrepl consumer (ldapsearch -E sync=rp, RFC 4533
 * refreshAndPersist, all attributes) follows astldap: its cookie names the suffix's contextCSN,
 * so the consumer skips the initial load and only receives the changes fn makes. Returns
 * fn's result and the CPU seconds the consumer process used meanwhile.
 */
async function withConsumer(server, fn) {
  const bind = ['-x', '-H', server.url, '-D', `cn=admin,${SUFFIX}`, '-w', 'secret', '-b', SUFFIX];
  // The provider's current contextCSN as the cookie (what a refreshOnly search would end with,
  // without walking every entry first and leaving the garbage of it to the measured run).
  const base = execFileSync('ldapsearch', [...bind, '-LLL', '-s', 'base', '(objectClass=*)', 'contextCSN'], { encoding: 'utf8' });
  const csn = /^contextCSN: (.*)$/m.exec(base)?.[1];
  if (!csn) throw new Error('no contextCSN from astldap');
  const cookie = `rid=001,csn=${csn}`;
  // BENCH_CONSUMER_NICE=19: the consumer yields the shared cores to astldap and its clients, as
  // one on another host would not compete for them (its own CPU is still counted).
  const nice = process.env.BENCH_CONSUMER_NICE;
  const argv = [...bind, '-E', `sync=rp/${cookie}`, '*', '+'];
  const child = nice
    ? spawn('nice', ['-n', nice, 'ldapsearch', ...argv], { stdio: ['ignore', 'ignore', 'ignore'] })
    : spawn('ldapsearch', argv, { stdio: ['ignore', 'ignore', 'ignore'] });
  await new Promise((r) => setTimeout(r, 1000));
  try {
    const c0 = cpuSeconds(child.pid);
    const result = await fn();
    return { result, consumerCpu: cpuSeconds(child.pid) - c0 };
  } finally {
    child.kill('SIGTERM');
  }
}

/** Changes per connection in each measured run of the consumer table (BENCH_CONSUMER_CHANGES). */
const CONSUMER_CHANGES = Number(process.env.BENCH_CONSUMER_CHANGES ?? (QUICK ? 1000 : 3000));

/**
 * astldap's write throughput alone and with one persistent consumer, alternating; and the
 * provider's own CPU per change in both (from /proc/PID/stat around a fixed number of changes,
 * so the machine's other load does not enter), which is what a consumer on another host costs
 * it (here the consumer process shares the same cores, so throughput also pays for its CPU).
 */
async function consumerCost(bin, server, cases) {
  const rows = [];
  const measure = async (c) => {
    const c0 = cpuSeconds(server.pid);
    const r = runLoad(bin, server, c, CONSUMER_CHANGES);
    if (r.errors) throw new Error(`consumer table: ${r.errors} errors in ${c.name}`);
    // The changes' notifications may still be on their way to the consumer: let them go out.
    await new Promise((res) => setTimeout(res, 300));
    return { ops: r.ops, total: r.total, cpuUs: ((cpuSeconds(server.pid) - c0) * 1e6) / Math.max(1, r.total) };
  };
  for (const c of cases) {
    const alone = [];
    const followed = [];
    const consumer = [];
    for (let r = 0; r < RUNS; r++) {
      const first = r % 2 === 0;
      if (first) alone.push(await measure(c));
      const w = await withConsumer(server, () => measure(c));
      followed.push(w.result);
      consumer.push((w.consumerCpu * 1e6) / Math.max(1, w.result.total));
      if (!first) alone.push(await measure(c));
      log(
        `run ${r + 1} astldap ${c.name}: ${alone.at(-1).ops} ops/s alone (${alone.at(-1).cpuUs.toFixed(0)} µs CPU/op), ` +
          `${followed.at(-1).ops} ops/s with a persistent consumer (${followed.at(-1).cpuUs.toFixed(0)} µs CPU/op; consumer ${consumer.at(-1).toFixed(0)} µs/op)`,
      );
    }
    const a = median(alone.map((x) => x.ops));
    const f = median(followed.map((x) => x.ops));
    const ac = median(alone.map((x) => x.cpuUs));
    const fc = median(followed.map((x) => x.cpuUs));
    rows.push(
      `| ${c.name} | ${a} | ${f} | ${(((a - f) / a) * 100).toFixed(1)}% | ${ac.toFixed(0)} | ${fc.toFixed(0)} | ` +
        `${(((fc - ac) / ac) * 100).toFixed(1)}% | ${median(consumer).toFixed(0)} |`,
    );
  }
  return [
    `| astldap case (${CONSUMER_CHANGES} changes per connection a run) | ops/s alone | ops/s with one persistent consumer | throughput cost | astldap CPU µs/change alone | with the consumer | provider CPU cost | consumer's CPU µs/change |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...rows,
  ];
}

/** The mixed PBX case's rates (per second) and length: BENCH_PBX_CALLS, _REGS, _QUALS, _SECONDS. */
const PBX = {
  calls: Number(process.env.BENCH_PBX_CALLS ?? 200),
  regs: Number(process.env.BENCH_PBX_REGS ?? 170),
  quals: Number(process.env.BENCH_PBX_QUALS ?? 50),
  seconds: Number(process.env.BENCH_PBX_SECONDS ?? (QUICK ? 5 : 20)),
};

/** One run of bench/pbxload.c against SERVER: its figures and the server's CPU seconds meanwhile. */
function runPbx(bin, server, phones, run) {
  const args = ['-H', server.url, '-A', `cn=admin,${SUFFIX}`, '-W', 'secret', '-s', SUFFIX, '-n', String(phones)];
  args.push('-t', String(PBX.seconds), '-r', String(PBX.calls), '-g', String(PBX.regs), '-q', String(PBX.quals));
  args.push('-S', path.join(work, `pbx-${server.name}.state`), '-z', String(run + 1));
  const c0 = cpuSeconds(server.pid);
  const out = execFileSync(bin, args, { encoding: 'utf8' });
  const cpu = cpuSeconds(server.pid) - c0;
  const r = Object.fromEntries([...out.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
  if (r.calls === undefined) throw new Error(`unexpected pbxload output: ${out}`);
  return { ...r, cpuPer1000: (cpu * 1000) / Math.max(1, r.calls) };
}

/**
 * The mixed PBX case (issue 22): calls, re-registrations and qualify updates at once, against
 * both servers alternating, RUNS rounds; a table of medians and ratios.
 */
function pbxCase(bin, servers, phones) {
  const runs = new Map(servers.map((s) => [s.name, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const s of r % 2 === 0 ? servers : [...servers].reverse()) {
      const x = runPbx(bin, s, phones, r);
      runs.get(s.name).push(x);
      log(
        `run ${r + 1} ${s.name.padEnd(7)} PBX: ${x.calls} calls p50 ${x.call_p50_us} p99 ${x.call_p99_us} us; ${x.regs} regs p99 ` +
          `${x.reg_p99_us} us; ${x.quals} quals p99 ${x.qual_p99_us} us; CPU ${x.cpuPer1000.toFixed(2)} s/1000 calls; ` +
          `errors ${x.errors}; behind max ${x.behind_max_us} us; call service p50 ${x.call_svc_p50_us} p99 ${x.call_svc_p99_us} us`,
      );
    }
  }
  const med = (name, k) => median(runs.get(name).map((x) => x[k]));
  const row = (label, k, digits = 0) => {
    const [a, b] = [med('slapd', k), med('astldap', k)];
    return `| ${label} | ${a.toFixed(digits)} | ${b.toFixed(digits)} | ${(b / a).toFixed(2)}x |`;
  };
  const errors = (name) => runs.get(name).reduce((a, x) => a + x.errors, 0);
  return [
    `| PBX mixed, ${phones} phones: ${PBX.calls} calls/s (5 lookups each), ${PBX.regs} re-registrations/s, ` +
      `${PBX.quals} qualify updates/s, ${PBX.seconds} s x ${RUNS} | slapd | astldap | ratio |`,
    `| --- | --- | --- | --- |`,
    row('call set-up p50 µs (from the time due)', 'call_p50_us'),
    row('call set-up p99 µs (from the time due)', 'call_p99_us'),
    row('call set-up service time p50 µs (from the first lookup sent)', 'call_svc_p50_us'),
    row('call set-up service time p99 µs', 'call_svc_p99_us'),
    row('re-registration service time p99 µs', 'reg_svc_p99_us'),
    row('re-registration (search + modify) p99 µs', 'reg_p99_us'),
    row('qualify update p99 µs', 'qual_p99_us'),
    row('write p99 µs', 'write_p99_us'),
    row('server CPU s per 1,000 calls (whole mixed load)', 'cpuPer1000', 3),
    `| errors (all runs) | ${errors('slapd')} | ${errors('astldap')} | |`,
  ];
}

/**
 * The first search after start-up against the steady state: one connection binds as the
 * administrator, then times its first uid lookup and 300 more (other uids), in microseconds.
 */
async function firstSearch(server) {
  const client = new Client({ url: server.url });
  await client.bind(`cn=admin,${SUFFIX}`, 'secret');
  const one = async (i) => {
    const t0 = process.hrtime.bigint();
    const { searchEntries } = await client.search(`ou=people,${SUFFIX}`, { scope: 'sub', filter: `(uid=user${i})` });
    if (searchEntries.length !== 1) throw new Error(`first search: ${searchEntries.length} entries for user${i}`);
    return Number(process.hrtime.bigint() - t0) / 1000;
  };
  try {
    const first = await one(Math.floor(N / 2));
    const steady = [];
    for (let i = 0; i < 300; i++) steady.push(await one((i * 7919) % N));
    return { first: Math.round(first), steady: Math.round(median(steady)) };
  } finally {
    await client.unbind();
  }
}

async function main() {
  log(`astldap bench: ${N} entries, ${SECONDS}s per case, ${RUNS} runs, alternating servers, astldap store layout ${LAYOUT}`);
  const bin = buildLoader();
  const pbxBin = buildLoader('pbxload', path.join(root, 'bench', 'pbxload.c'));
  const ldifFile = path.join(work, 'data.ldif');
  const { peers, extensions, phones, entries } = makeLdif(ldifFile);
  const admin = ['-A', `cn=admin,${SUFFIX}`, '-W', 'secret'];
  const cases = [
    {
      name: 'search, 1 conn, sequential',
      op: 'search',
      conns: 1,
      depth: 1,
      n: N,
      args: ['-b', `ou=people,${SUFFIX}`, '-f', '(uid=user%d)', ...admin],
    },
    {
      name: 'search, 16 conns x 4',
      op: 'search',
      conns: 16,
      depth: 4,
      n: N,
      args: ['-b', `ou=people,${SUFFIX}`, '-f', '(uid=user%d)', ...admin],
    },
    {
      name: 'Asterisk peer lookup, 1 conn',
      op: 'search',
      conns: 1,
      depth: 1,
      n: peers,
      args: ['-b', `ou=sip,${SUFFIX}`, '-f', '(&(objectClass=AsteriskSIPUser)(cn=%d))', ...admin],
    },
    {
      name: 'Asterisk extension lookup, 1 conn',
      op: 'search',
      conns: 1,
      depth: 1,
      n: extensions,
      args: ['-b', SUFFIX, '-f', '(&(objectClass=AsteriskExtension)(AstContext=default)(AstExtension=%d))', ...admin],
    },
    {
      name: `Asterisk static config (${CONFIG_ROWS} rows), 1 conn`,
      op: 'search',
      conns: 1,
      depth: 1,
      n: CONFIG_FILES,
      expect: CONFIG_ROWS,
      args: [
        '-b',
        `ou=config,${SUFFIX}`,
        '-f',
        '(&(objectClass=AsteriskConfig)(AstConfigCommented=FALSE)(AstConfigFilename=file%d.conf))',
        ...admin,
      ],
    },
    {
      name: 'Asterisk registration update, 1 conn',
      op: 'modify',
      conns: 1,
      depth: 1,
      n: peers,
      binddn: `cn=%d,ou=sip,${SUFFIX}`,
      args: ['-a', 'AstAccountIPAddress', ...admin],
    },
    { name: 'root DSE, 1 conn', op: 'base', conns: 1, depth: 1, n: 1, args: [] },
    { name: 'simple bind {SSHA}, 16 conns', op: 'bind', conns: 16, depth: 1, n: N, args: ['-w', 'pw%d'] },
    { name: 'modify (synced), 4 conns', op: 'modify', conns: 4, depth: 1, n: N, args: ['-a', 'description', ...admin] },
  ];
  if (CASES) cases.splice(0, cases.length, ...cases.filter((c) => CASES.test(c.name)));
  const servers = [await startSlapd(ldifFile), await startAstldap(ldifFile)];
  for (const s of servers) s.firstSearch = await firstSearch(s);
  log(`load: slapadd ${servers[0].loadMs} ms, astldap import ${servers[1].loadMs} ms`);
  const results = new Map();
  try {
    for (let r = 0; r < RUNS; r++) {
      for (const c of cases) {
        const order = r % 2 === 0 ? servers : [...servers].reverse();
        for (const s of order) {
          const res = runLoad(bin, s, c);
          const k = `${c.name}|${s.name}`;
          if (!results.has(k)) results.set(k, []);
          results.get(k).push(res);
          log(`run ${r + 1} ${s.name.padEnd(7)} ${c.name}: ${res.ops} ops/s p50 ${res.p50} us p99 ${res.p99} us errors ${res.errors}`);
        }
      }
    }
    const pbx = !CASES || CASES.test('PBX mixed') ? pbxCase(pbxBin, servers, phones) : [];
    const rss = servers.map((s) => rssMiB(s.pid));
    const onlineFile = path.join(work, 'online.ldif');
    writeFileSync(onlineFile, onlineLdif());
    const online = CASES ? [NaN, NaN] : servers.map((s) => onlineAdd(s, onlineFile));
    log(`online ldapadd of ${ONLINE_ADDS}: slapd ${online[0]} ms, astldap ${online[1]} ms`);
    const lines = [
      `| case | slapd ops/s (p50 µs, p99 µs) | astldap ops/s (p50 µs, p99 µs) | throughput ratio | p50 ratio | p99 ratio |`,
      `| --- | --- | --- | --- | --- | --- |`,
    ];
    for (const c of cases) {
      const get = (s) => results.get(`${c.name}|${s}`);
      const sl = get('slapd');
      const as = get('astldap');
      if (!sl || !as) continue;
      const so = median(sl.map((x) => x.ops));
      const ao = median(as.map((x) => x.ops));
      const sp = median(sl.map((x) => x.p50));
      const ap = median(as.map((x) => x.p50));
      const s99 = median(sl.map((x) => x.p99));
      const a99 = median(as.map((x) => x.p99));
      const errs = as.reduce((a, x) => a + x.errors, 0) + sl.reduce((a, x) => a + x.errors, 0);
      lines.push(
        `| ${c.name} | ${so} (${sp}, ${s99}) | ${ao} (${ap}, ${a99})${errs ? ` [${errs} errors]` : ''} | ` +
          `${(ao / so).toFixed(2)}x | ${(ap / sp).toFixed(2)}x | ${(a99 / s99).toFixed(2)}x |`,
      );
    }
    const [sl, as] = servers;
    const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
    lines.push(
      `| load ${entries} entries (slapadd / astldap import) | ${sl.loadMs} ms | ${as.loadMs} ms | | ${ratio(as.loadMs, sl.loadMs)} | |`,
    );
    lines.push(`| online ldapadd of ${ONLINE_ADDS} | ${online[0]} ms | ${online[1]} ms | | ${ratio(online[1], online[0])} | |`);
    lines.push(`| resident memory after the cases | ${rss[0]} MiB | ${rss[1]} MiB | | ${ratio(rss[1], rss[0])} | |`);
    const peer = (s) => results.get(`Asterisk peer lookup, 1 conn|${s}`) ?? [{ p50: NaN, p99: NaN }];
    const scale = (s) =>
      `${s.loadMs} ms, peak ${s.peakMiB} MiB, RSS ${rss[servers.indexOf(s)]} MiB, ${s.diskMiB} MiB on disk, start ${s.startMs} ms, ` +
      `first search ${s.firstSearch.first} µs (steady ${s.firstSearch.steady} µs through ldapts), ` +
      `peer p50/p99 ${median(peer(s.name).map((x) => x.p50))}/${median(peer(s.name).map((x) => x.p99))} µs`;
    lines.push('', `scale row (${entries} entries): | ${entries} | slapd: ${scale(sl)} | astldap: ${scale(as)} |`);
    if (pbx.length) lines.push('', ...pbx);
    process.stdout.write(lines.join('\n') + '\n');
    // Replication (RFC 4533, docs/replication.md): what one persistent consumer costs astldap's writes.
    const writes = CASES && !process.env.BENCH_CONSUMER ? [] : cases.filter((c) => c.op === 'modify');
    if (writes.length) process.stdout.write('\n' + (await consumerCost(bin, servers[1], writes)).join('\n') + '\n');
  } finally {
    for (const s of servers) s.stop();
    // A profiled server writes its profile on the way out.
    await new Promise((r) => setTimeout(r, process.env.BENCH_NODE_ARGS ? 5000 : 500));
    if (KEEP) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  log(`bench failed: ${err.message}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
