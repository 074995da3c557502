#!/usr/bin/env node
// npm run soak: a PBX's load on astldap (its default configuration: ldap://, ldaps://, the admin
// API) with and without the attacks of issue 25's tables running beside it, and LDAP latency
// compared: with the attacks, each case's p99 must stay within 2x of without (exit 1 otherwise).
// Not part of the test suite (it runs for minutes and loads the machine); docs/soak.md has a run.
//
// The load is the mixed benchmark's PBX part, driven by bench/ldapload.c (libldap): SIP peer
// lookups by cn (4 connections x 2 outstanding) and registration updates (a replace of
// AstAccountIPAddress), at once. The attacks, each bounded in connections and time, loopback only:
//   F1  chunked POSTs to the admin API without a token, in 1-byte chunks
//   F2  idle TCP connections to the admin port (up to SOAK_IDLE, reopened when closed)
//   F3  a refreshAndPersist consumer that never reads, while 100 KB values are written (those
//       writes, an administrator's, run in both phases: the ratio measures the attacks)
//   F4  StartTLS, then no handshake
//   F5  request-smuggling shapes (Content-Length with Transfer-Encoding, xchunked, bare LF)
//   --  idle TCP connections to the LDAP port (up to SOAK_IDLE, reopened when closed)
//   G2  ldaps:// connections that never send a ClientHello
//   G3  TLS 1.2 client-initiated renegotiation in a loop
//   --  failed binds against one account (lockout and the bind throttle)
//
// Needs: apt-get install -y libldap-dev ldap-utils (and a C compiler); `npm run build` first.
// Env: SOAK_SECONDS (10 per phase), SOAK_PEERS (5000), SOAK_IDLE (3000), SOAK_RUNS (5: rounds of
// without/with; each round's ratio is its own with / without, and the verdict is on their median,
// so that the machine's drift between rounds cancels out), SOAK_ATTACK_FROM (the attacks' source address, 127.0.0.1),
// SOAK_ATTACKS (a comma-separated subset of F1 F2 F3 F4 F5 idle G2 G3 binds; all by default).
// SOAK_FSYNC_PROBE=1: each round also times a loop of small synced writes (write + fdatasync, in
// a process of its own, in the database's folder, no LDAP) with and without the attacks and no
// load: what the attacks cost any synced write on this machine, the server's handling aside.
// SOAK_SERVER=slapd: the same soak against Debian's slapd (back-mdb, syncprov, the same data,
// ldap:// and ldaps:// with an RSA 2048 certificate as astldap's development one, its defaults
// otherwise) and only the attacks that have a target there (no admin API: not F1, F2, F5), for
// a reference of what the same LDAP attacks cost a directory on the same machine.
// The database is in a folder of os.tmpdir(): TMPDIR=/a/tmpfs puts it where fsync costs nothing,
// which leaves the server's own share of the updates' latency without the disk's.

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './ports.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Math.min(120, Number(process.env.SOAK_SECONDS ?? 10));
const PEERS = Number(process.env.SOAK_PEERS ?? 5000);
const IDLE = Math.min(20000, Number(process.env.SOAK_IDLE ?? 3000));
const RUNS = Number(process.env.SOAK_RUNS ?? 5);
// The attacks' source address: by default the load's own (127.0.0.1, the harder case: the load's
// new connections compete with the floods for that address's places); SOAK_ATTACK_FROM=127.0.0.2
// puts the attacker on an address of its own, as a PBX and a remote attacker are.
const FROM = process.env.SOAK_ATTACK_FROM ?? '127.0.0.1';
const SLAPD = process.env.SOAK_SERVER === 'slapd';
// SOAK_ATTACKS: which attacks run (comma-separated names of `attacks` below, e.g. "F3,G3"); all by
// default, and those with a target on slapd under SOAK_SERVER=slapd.
const ATTACKS = process.env.SOAK_ATTACKS ?? (SLAPD ? 'F3,F4,idle,G2,G3,binds' : '');
const SUFFIX = 'dc=example,dc=domain';
const ADMIN_DN = `cn=admin,${SUFFIX}`;
const work = mkdtempSync(path.join(tmpdir(), 'astldap-soak-'));
const log = (m) => process.stderr.write(`[soak] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function buildLoader() {
  const bin = path.join(work, 'ldapload');
  execFileSync('cc', ['-O2', '-o', bin, path.join(root, 'bench', 'ldapload.c'), '-lldap', '-llber', '-lpthread']);
  return bin;
}

function makeLdif() {
  const out = [`dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n`];
  out.push(`dn: ou=sip,${SUFFIX}\nobjectClass: organizationalUnit\nou: sip\n`);
  out.push(`dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`);
  out.push(`dn: uid=victim,ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: victim\ncn: victim\nsn: victim\nuserPassword: right\n`);
  out.push(`dn: cn=big,ou=people,${SUFFIX}\nobjectClass: person\ncn: big\nsn: big\n`);
  for (let i = 0; i < PEERS; i++) {
    out.push(
      `dn: cn=${i},ou=sip,${SUFFIX}\nobjectClass: AsteriskAccount\nobjectClass: AsteriskSIPUser\ncn: ${i}\n` +
        `AstAccountName: peer ${i}\nAstAccountHost: dynamic\nAstAccountContext: default\nAstAccountIPAddress: 0.0.0.0\n`,
    );
  }
  return out.join('\n');
}

/** SOAK_SERVER=slapd: Debian's slapd on the same LDIF, with syncprov for F3's consumer. */
async function startSlapd() {
  const dir = path.join(work, 'slapd');
  mkdirSync(path.join(dir, 'db'), { recursive: true, mode: 0o700 });
  const ports = { ldap: await freePort(), ldaps: await freePort() };
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '2',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const conf = [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((n) => `include /etc/ldap/schema/${n}.schema`),
    `include ${path.join(root, 'schema', 'asterisk.schema')}`,
    `include ${path.join(root, 'schema', 'astldap-asterisk.schema')}`,
    `pidfile ${dir}/slapd.pid`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload syncprov',
    `TLSCertificateFile ${dir}/cert.pem`,
    `TLSCertificateKeyFile ${dir}/key.pem`,
    'database mdb',
    'maxsize 4294967296',
    `suffix "${SUFFIX}"`,
    `rootdn "${ADMIN_DN}"`,
    'rootpw secret',
    `directory ${dir}/db`,
    'index objectClass,entryCSN,entryUUID eq',
    'index cn eq,sub',
    'overlay syncprov',
  ].join('\n');
  writeFileSync(path.join(dir, 'slapd.conf'), conf + '\n', { mode: 0o600 });
  const ldif = path.join(work, 'data.ldif');
  writeFileSync(ldif, makeLdif(), { mode: 0o600 });
  execFileSync('/usr/sbin/slapadd', ['-q', '-f', path.join(dir, 'slapd.conf'), '-l', ldif], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('/usr/sbin/slapd', [
    '-f',
    path.join(dir, 'slapd.conf'),
    '-h',
    `ldap://127.0.0.1:${ports.ldap}/ ldaps://127.0.0.1:${ports.ldaps}/`,
  ]);
  await waitFor(ports.ldap, 300);
  const pid = Number(readFileSync(path.join(dir, 'slapd.pid'), 'utf8'));
  return { pid, ports, stderr: () => '', stop: () => process.kill(pid, 'SIGTERM') };
}

async function startServer() {
  const dir = path.join(work, 'astldap');
  const ports = { ldap: await freePort(), ldaps: await freePort(), admin: await freePort() };
  const config = path.join(work, 'soak.yaml');
  // The packaged defaults (limits, caps, timeouts) with the test's suffix and data folder.
  writeFileSync(config, [`dataDir: ${dir}`, 'seed: null', 'log: { level: warn }'].join('\n') + '\n', { mode: 0o600 });
  const ldif = path.join(work, 'data.ldif');
  writeFileSync(ldif, makeLdif(), { mode: 0o600 });
  const cli = path.join(root, 'dist', 'cli', 'main.js');
  execFileSync(process.execPath, [cli, 'import', ldif, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  // SOAK_SERVER_ARGS: node options for the server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const nodeArgs = (process.env.SOAK_SERVER_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      cli,
      'serve',
      '--config',
      config,
      '--listen',
      `ldap://127.0.0.1:${ports.ldap}`,
      '--listen',
      `ldaps://127.0.0.1:${ports.ldaps}`,
      '--admin-listen',
      `http://127.0.0.1:${ports.admin}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b.toString()));
  await waitFor(ports.ldap, 300);
  await waitFor(ports.admin, 300);
  return { pid: child.pid, ports, stderr: () => stderr, stop: () => child.kill('SIGTERM') };
}

function runLoad(bin, url, kind) {
  const admin = ['-A', ADMIN_DN, '-W', 'secret'];
  const args =
    kind === 'lookup'
      ? ['-o', 'search', '-c', '4', '-k', '2', '-b', `ou=sip,${SUFFIX}`, '-f', '(&(objectClass=AsteriskSIPUser)(cn=%d))', ...admin]
      : ['-o', 'modify', '-c', '2', '-k', '1', '-D', `cn=%d,ou=sip,${SUFFIX}`, '-a', 'AstAccountIPAddress', ...admin];
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['-H', url, '-t', String(SECONDS), '-n', String(PEERS), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (b) => (out += b.toString()));
    p.on('exit', () => {
      const m = /ops\/s=(\d+) p50_us=(\d+) p99_us=(\d+) errors=(\d+)/.exec(out);
      if (!m) reject(new Error(`unexpected ldapload output: ${out}`));
      else resolve({ ops: Number(m[1]), p50: Number(m[2]), p99: Number(m[3]), errors: Number(m[4]) });
    });
  });
}

// --- BER, just enough for the attacks' requests ---
function tlv(tag, content) {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), content]);
}
const int = (v) => tlv(0x02, Buffer.from([v & 0x7f]));
const str = (s, tag = 0x04) => tlv(tag, Buffer.from(s));
const msg = (id, op, controls) => tlv(0x30, Buffer.concat([int(id), op, ...(controls ? [controls] : [])]));
const bindReq = (id, dn, pw) => msg(id, tlv(0x60, Buffer.concat([int(3), str(dn), str(pw, 0x80)])));
const startTls = (id) => msg(id, tlv(0x77, str('1.3.6.1.4.1.1466.20037', 0x80)));
function syncSearch(id) {
  const search = tlv(
    0x63,
    Buffer.concat([
      str(SUFFIX),
      tlv(0x0a, Buffer.from([2])),
      tlv(0x0a, Buffer.from([0])),
      int(0),
      int(0),
      tlv(0x01, Buffer.from([0])),
      tlv(0x87, Buffer.from('objectClass')),
      tlv(0x30, Buffer.alloc(0)),
    ]),
  );
  // Sync Request control (RFC 4533): mode refreshAndPersist (3).
  const control = tlv(0x30, Buffer.concat([str('1.3.6.1.4.1.4203.1.9.1.1'), tlv(0x04, tlv(0x30, tlv(0x0a, Buffer.from([3]))))]));
  return msg(id, search, tlv(0xa0, control));
}
function modifyReq(id, dn, attr, value) {
  const change = tlv(0x30, Buffer.concat([tlv(0x0a, Buffer.from([2])), tlv(0x30, Buffer.concat([str(attr), tlv(0x31, str(value))]))]));
  return msg(id, tlv(0x66, Buffer.concat([str(dn), tlv(0x30, change)])));
}

/** Keeps up to `n` sockets made by `open` alive until `until`; each is destroyed at the end. */
async function pool(n, until, open) {
  const live = new Set();
  const fill = () => {
    while (Date.now() < until && live.size < n) {
      let s;
      try {
        s = open();
      } catch {
        return;
      }
      live.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        live.delete(s);
        if (Date.now() < until) setTimeout(fill, 50);
      });
    }
  };
  fill();
  while (Date.now() < until) await sleep(200);
  for (const s of live) s.destroy();
}

const attacks = {
  async F1(ports, until) {
    await pool(20, until, () => {
      const s = net.connect({ port: ports.admin, host: '127.0.0.1', localAddress: FROM }, () => {
        s.write('POST /v1/openldap/static-role/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
        const tick = setInterval(() => (s.destroyed ? clearInterval(tick) : s.write('1\r\na\r\n')), 1);
        s.on('close', () => clearInterval(tick));
      });
      return s;
    });
  },
  async F2(ports, until) {
    await pool(IDLE, until, () => net.connect({ port: ports.admin, host: '127.0.0.1', localAddress: FROM }));
  },
  async F3(ports, until) {
    // The stalled consumer; the changes it would queue are the background writes, in both phases.
    const consumer = net.connect({ port: ports.ldap, host: '127.0.0.1', localAddress: FROM }, () => {
      consumer.write(Buffer.concat([bindReq(1, ADMIN_DN, 'secret'), syncSearch(2)]));
      setTimeout(() => consumer.pause(), 500); // then never reads again
    });
    consumer.on('error', () => undefined);
    while (Date.now() < until) await sleep(200);
    consumer.destroy();
  },
  async F4(ports, until) {
    await pool(200, until, () => {
      const s = net.connect({ port: ports.ldap, host: '127.0.0.1', localAddress: FROM }, () => s.write(startTls(1)));
      s.on('data', () => undefined);
      return s;
    });
  },
  async F5(ports, until) {
    const shapes = [
      'POST /v1/sys/health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /v1/sys/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
      'GET /v1/sys/health HTTP/1.1\nHost: x\n\n',
      'POST /v1/sys/health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    ];
    let i = 0;
    while (Date.now() < until) {
      await new Promise((resolve) => {
        const s = net.connect({ port: ports.admin, host: '127.0.0.1', localAddress: FROM }, () => s.write(shapes[i++ % shapes.length]));
        s.on('data', () => undefined);
        s.on('error', resolve);
        s.on('close', resolve);
        s.setTimeout(2000, () => s.destroy());
      });
    }
  },
  async idle(ports, until) {
    await pool(IDLE, until, () => net.connect({ port: ports.ldap, host: '127.0.0.1', localAddress: FROM }));
  },
  async G2(ports, until) {
    await pool(Math.min(IDLE, 5000), until, () => net.connect({ port: ports.ldaps, host: '127.0.0.1', localAddress: FROM }));
  },
  async G3(ports, until) {
    while (Date.now() < until) {
      await new Promise((resolve) => {
        const s = tls.connect(
          { port: ports.ldaps, host: '127.0.0.1', localAddress: FROM, rejectUnauthorized: false, maxVersion: 'TLSv1.2' },
          () => {
            const again = () => {
              if (s.destroyed || Date.now() >= until) return s.destroy();
              if (!s.renegotiate({ rejectUnauthorized: false }, (err) => (err ? s.destroy() : setTimeout(again, 10)))) s.destroy();
            };
            again();
          },
        );
        s.on('error', () => undefined);
        s.on('close', resolve);
      });
    }
  },
  async binds(ports, until) {
    let id = 1;
    while (Date.now() < until) {
      await new Promise((resolve) => {
        const s = net.connect({ port: ports.ldap, host: '127.0.0.1', localAddress: FROM }, () =>
          s.write(bindReq(id++, `uid=victim,ou=people,${SUFFIX}`, 'wrong')),
        );
        s.once('data', () => s.destroy());
        s.on('error', resolve);
        s.on('close', resolve);
        s.setTimeout(10_000, () => s.destroy());
      });
    }
  },
};

/**
 * The attacks run in a process of their own at the lowest CPU priority (SOAK_SAME_PRIORITY=1:
 * at the load's): an attacker's own CPU is not the server's, and on two shared cores the
 * attack loops' reconnects would otherwise be measured as the server's slowness.
 */
function startAttacks(ports, until) {
  const args = [fileURLToPath(import.meta.url), '--attack', JSON.stringify(ports), String(until), ATTACKS];
  const child =
    process.env.SOAK_SAME_PRIORITY === '1'
      ? spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn('nice', ['-n', '19', process.execPath, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve) => child.on('exit', resolve));
}

/**
 * The directory's own large writes (an administrator's, 100 KB values, ten a second): what F3's
 * stalled consumer has queued for it. They run in both phases, so that the ratio measures the
 * attacks and not this write load, which no attacker could make.
 */
async function bigWrites(ports, until) {
  const writer = net.connect({ port: ports.ldap, host: '127.0.0.1' });
  writer.on('error', () => undefined);
  writer.on('data', () => undefined);
  await new Promise((r) => writer.once('connect', r));
  writer.write(bindReq(1, ADMIN_DN, 'secret'));
  let id = 2;
  const big = 'x'.repeat(100_000);
  while (Date.now() < until && id < 2 + 10 * (SECONDS + 2)) {
    writer.write(modifyReq(id++, `cn=big,ou=people,${SUFFIX}`, 'description', big + id));
    await sleep(100);
  }
  writer.destroy();
}

/**
 * One phase: `measure` runs for SECONDS, with the attacks under way (they start a second before it
 * and end a second after) or without them; `beside` is what runs in the phase either way.
 */
async function attackWindow(server, withAttacks, measure, beside = () => Promise.resolve()) {
  const until = Date.now() + (SECONDS + 2) * 1000;
  const background = beside(until);
  const running = withAttacks ? startAttacks(server.ports, until) : Promise.resolve();
  if (withAttacks) await sleep(1000);
  const result = await measure();
  await Promise.all([running, background]);
  return result;
}

async function phase(bin, server, withAttacks) {
  const url = `ldap://127.0.0.1:${server.ports.ldap}`;
  const [lookup, update] = await attackWindow(
    server,
    withAttacks,
    () => Promise.all([runLoad(bin, url, 'lookup'), runLoad(bin, url, 'update')]),
    (until) => bigWrites(server.ports, until),
  );
  return { lookup, update };
}

/** SOAK_FSYNC_PROBE's loop: synced 200-byte writes for SECONDS in this folder; p50/p99 µs. */
function fsyncProbe() {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--fsync-probe', work, String(SECONDS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (b) => (out += b.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`fsync probe exited ${code}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const loadAtStart = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  log(`${SLAPD ? 'slapd' : 'astldap'} soak: ${PEERS} peers, ${SECONDS} s per phase, ${RUNS} rounds, up to ${IDLE} idle sockets per attack`);
  const bin = buildLoader();
  const server = SLAPD ? await startSlapd() : await startServer();
  const rss = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024);
  const results = { without: [], with: [] };
  const probes = { without: [], with: [] };
  const probing = process.env.SOAK_FSYNC_PROBE === '1';
  try {
    for (let r = 0; r < RUNS; r++) {
      log(`round ${r + 1}: load alone`);
      // SOAK_ONLY=with: only the phase under attack (for profiling the server under the attacks).
      results.without.push(process.env.SOAK_ONLY === 'with' ? await phase(bin, server, true) : await phase(bin, server, false));
      log(`round ${r + 1}: load with the attacks (rss ${rss()} MiB before)`);
      results.with.push(await phase(bin, server, true));
      log(`round ${r + 1}: rss ${rss()} MiB after`);
      await sleep(3000); // the attacks' sockets close
      if (probing) {
        probes.without.push(await attackWindow(server, false, fsyncProbe));
        probes.with.push(await attackWindow(server, true, fsyncProbe));
        await sleep(3000);
      }
    }
    // The server is still whole afterwards: it answers, and its log says what it refused.
    execFileSync(
      'ldapsearch',
      ['-x', '-H', `ldap://127.0.0.1:${server.ports.ldap}`, '-D', ADMIN_DN, '-w', 'secret', '-b', SUFFIX, '-s', 'base', '1.1'],
      {
        stdio: 'ignore',
      },
    );
  } finally {
    server.stop();
  }
  const cpus = os.cpus();
  const lines = [
    `machine: ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.type()} ${os.release()}`,
    `server: ${SLAPD ? 'slapd (Debian)' : 'astldap'}; attacks: ${ATTACKS || 'all'}`,
    `load: ${PEERS} peers; lookups 4 conns x 2, updates 2 conns; ${SECONDS} s per phase; medians of ${RUNS} rounds; load average at the start ${loadAtStart}; database under ${tmpdir()}`,
    '',
    "| case | alone: ops/s, p50 µs, p99 µs | with the attacks: ops/s, p50 µs, p99 µs | p99 ratio of the medians | p99 ratio in each round | median of the rounds' ratios | errors (alone / with) |",
    '|---|---|---|---|---|---|---|',
  ];
  /** A table row's cells: medians alone and with the attacks, the ratio of the p99 medians, each round's p99 ratio and their median. */
  const compare = (without, withA, cells) => {
    const a = (k) => median(without.map((x) => x[k]));
    const b = (k) => median(withA.map((x) => x[k]));
    const rounds = withA.map((x, i) => x.p99 / Math.max(1, without[i].p99));
    const paired = median(rounds);
    const row = `${cells(a)} | ${cells(b)} | ${(b('p99') / Math.max(1, a('p99'))).toFixed(2)} | ${rounds.map((r) => r.toFixed(2)).join(', ')} | ${paired.toFixed(2)}`;
    return { a, b, paired, row };
  };
  let ok = true;
  for (const kind of ['lookup', 'update']) {
    const pick = (rs) => rs.map((x) => x[kind]);
    const c = compare(pick(results.without), pick(results.with), (m) => `${m('ops')}, ${m('p50')}, ${m('p99')}`);
    if (c.paired > 2) ok = false;
    lines.push(`| ${kind === 'lookup' ? 'SIP peer lookup' : 'registration update'} | ${c.row} | ${c.a('errors')} / ${c.b('errors')} |`);
  }
  if (probing) {
    const c = compare(probes.without, probes.with, (m) => `${m('n')} writes, ${m('p50')}, ${m('p99')}`);
    lines.push(`| synced 200-byte write, no LDAP (fsync probe) | ${c.row} | |`);
  }
  lines.push('', `verdict: ${ok ? 'within 2x' : 'OVER 2x'}; server log lines: ${server.stderr().split('\n').filter(Boolean).length}`);
  process.stdout.write(lines.join('\n') + '\n');
  process.stderr.write(server.stderr().split('\n').slice(-15).join('\n') + '\n');
  rmSync(work, { recursive: true, force: true });
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[2] === '--fsync-probe') {
  // SOAK_FSYNC_PROBE's child: write + fdatasync in a loop, then the latencies' count, p50, p99.
  rmSync(work, { recursive: true, force: true });
  const file = path.join(process.argv[3], `fsync-probe-${process.pid}`);
  const fd = openSync(file, 'w', 0o600);
  const buf = Buffer.alloc(200, 0x78);
  const lat = [];
  const end = Date.now() + Number(process.argv[4]) * 1000;
  while (Date.now() < end) {
    const t = process.hrtime.bigint();
    writeSync(fd, buf);
    fdatasyncSync(fd);
    lat.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  closeSync(fd);
  rmSync(file);
  lat.sort((x, y) => x - y);
  const at = (q) => Math.round(lat[Math.min(lat.length - 1, Math.floor(lat.length * q))]);
  process.stdout.write(JSON.stringify({ n: lat.length, p50: at(0.5), p99: at(0.99) }) + '\n');
} else if (process.argv[2] === '--attack') {
  // The attacker process: every attack at once until the given time, then exit.
  rmSync(work, { recursive: true, force: true });
  const ports = JSON.parse(process.argv[3]);
  const until = Number(process.argv[4]);
  // The fifth argument names the attacks to run (SOAK_ATTACKS; empty: all of them).
  const only = (process.argv[5] ?? '').split(',').filter(Boolean);
  const chosen = Object.entries(attacks).filter(([name]) => only.length === 0 || only.includes(name));
  await Promise.all(chosen.map(([name, f]) => f(ports, until).catch((e) => log(`${name}: ${e.message}`))));
  process.exit(0);
} else {
  main().catch((err) => {
    log(err.stack ?? String(err));
    rmSync(work, { recursive: true, force: true });
    process.exitCode = 1;
  });
}
