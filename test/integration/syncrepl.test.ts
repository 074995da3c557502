// astldap as a syncrepl provider (RFC 4533) for a stock OpenLDAP consumer: a private Debian
// slapd replicates astldap's naming context in refreshAndPersist and refreshOnly mode. The
// initial load arrives complete and equal (2,000 entries here to keep CI time bounded; the issue
// asks for 10k, which docs/replication.md reports separately), persisted changes arrive, a
// consumer stopped during 200 changes catches up from the session log and, with a log too
// short, from the present phase, and a consumer survives a restart of astldap.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import {
  asteriskSchemaFile,
  confPreamble,
  freePort,
  launchSlapd,
  mdbDatabase,
  repoRoot,
  setUpSlapd,
  slapdAvailable,
  type Launched,
} from '../helpers/slapd.js';
import { Driver, loadDriverConfig, value, singleRow, type Backend } from '../asterisk/driver.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { bindArgs, canonicalize, parseLdifEntries, runTool } from '../helpers/tools.js';

const SUFFIX = 'dc=example,dc=domain';
const ADMIN = `cn=admin,${SUFFIX}`;
const ADMIN_PW = 'secret';
const REPL_DN = `cn=replicator,ou=services,${SUFFIX}`;
const REPL_PW = 'replicator-secret';
const ASTERISK_DN = `cn=asterisk,ou=services,${SUFFIX}`;
/** 2,000 by default to keep CI time bounded; SYNCREPL_ENTRIES=10000 runs the 10k. */
const PEOPLE = Number(process.env.SYNCREPL_ENTRIES ?? 2000);
/** Generous bound for a change to reach a consumer (the "within a second" on an idle machine). */
const CONVERGE_MS = 20_000;
/** Bound for the initial load (and the provider's import of it): generous, proportional to its size. */
const LOAD_MS = Math.max(60_000, PEOPLE * 30);

function seedLdif(n: number): string {
  const out = [
    `dn: ${REPL_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: replicator\nuserPassword: ${REPL_PW}\n`,
    `dn: ou=bulk,${SUFFIX}\nobjectClass: organizationalUnit\nou: bulk\n`,
  ];
  for (let i = 0; i < n; i++) {
    out.push(
      `dn: uid=u${i},ou=bulk,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: u${i}\ncn: User ${i}\nsn: S${i % 97}\nmail: u${i}@example.domain\n`,
    );
  }
  return out.join('\n');
}

interface Provider {
  server: AstldapServer;
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

async function startProvider(opts: { dataDir?: string; port?: number; sessionLog?: number; people?: number } = {}): Promise<Provider> {
  const { startServer } = await import('../../src/index.js');
  const dataDir = opts.dataDir ?? tempDir('astldap-sync-');
  const port = opts.port ?? (await freePort());
  const server = await startServer({
    configFile: path.join(repoRoot, 'config.yaml'),
    dataDir,
    listen: [`ldap://127.0.0.1:${port}`],
    seed: opts.dataDir ? false : undefined,
    seedLdif: opts.dataDir ? undefined : seedLdif(opts.people ?? PEOPLE),
    // SSHA: a replica verifies binds itself, and stock slapd knows the SSHA family without modules.
    config: {
      replication: { identities: [REPL_DN], sessionLog: opts.sessionLog ?? 10000 },
      store: { sync: false },
      passwordScheme: 'SSHA',
    },
    logger: false,
  });
  return { server, url: `ldap://127.0.0.1:${port}`, port, dataDir, stop: () => server.close() };
}

interface Consumer {
  dir: string;
  url(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

/**
 * slapd.conf of a consumer. With chain, writes sent to it (a shadow database answers them with
 * its updateref) are forwarded to astldap by the chain overlay, bound as the Asterisk identity.
 */
function consumerConf(dir: string, providerUrl: string, mode: 'refreshAndPersist' | 'refreshOnly', chain = false): string {
  const timing = mode === 'refreshOnly' ? 'interval=00:00:00:01' : '';
  return [
    ...confPreamble(dir, [asteriskSchemaFile(), path.join(repoRoot, 'schema/astldap-asterisk.schema')]),
    ...(chain
      ? [
          'moduleload back_ldap',
          'overlay chain',
          `chain-uri ${providerUrl}`,
          `chain-idassert-bind bindmethod=simple binddn="${ASTERISK_DN}" credentials=asterisk mode=none`,
          'chain-return-error TRUE',
        ]
      : []),
    ...mdbDatabase(dir, SUFFIX, ADMIN, ADMIN_PW),
    // A throw-away replica: no fsync per replicated entry (a production replica keeps it).
    'dbnosync',
    'index objectClass,entryUUID,entryCSN eq',
    `syncrepl rid=001 provider=${providerUrl} type=${mode} ${timing} retry="1 +" searchbase="${SUFFIX}" scope=sub ` +
      `bindmethod=simple binddn="${REPL_DN}" credentials=${REPL_PW} schemachecking=off`,
    ...(chain ? [`updateref ${providerUrl}`] : []),
    'access to * by * read',
    '',
  ].join('\n');
}

async function startConsumer(providerUrl: string, mode: 'refreshAndPersist' | 'refreshOnly', chain = false): Promise<Consumer> {
  const { dir, launched } = await setUpSlapd('astldap-consumer-', (d) => consumerConf(d, providerUrl, mode, chain));
  let current: Launched | undefined = launched;
  return {
    dir,
    url: () => `ldap://127.0.0.1:${current!.port}`,
    async stop() {
      await current?.stop();
      current = undefined;
    },
    async start() {
      current = await launchSlapd(path.join(dir, 'slapd.conf'));
    },
    async remove() {
      await current?.stop();
      removeDir(dir);
    },
  };
}

/** The naming context as an administrator reads it: user attributes and the replicated stamps, by DN. */
async function exportOf(url: string): Promise<Map<string, string>> {
  const r = await runTool(
    'ldapsearch',
    [...bindArgs(ADMIN, ADMIN_PW), '-H', url, '-LLL', '-o', 'ldif-wrap=no', '-b', SUFFIX, '*', 'entryUUID', 'entryCSN', 'createTimestamp'],
    { timeoutMs: 60_000 },
  );
  if (r.code !== 0 && r.code !== 32) throw new Error(`ldapsearch failed (${r.code}): ${r.stderr}`);
  return new Map(canonicalize(parseLdifEntries(r.stdout)).map((e) => [e.dn.toLowerCase(), JSON.stringify(e.attrs)]));
}

/** What differs between two exports (at most 5 DNs each way), '' when they are equal. */
function difference(want: Map<string, string>, got: Map<string, string>): string {
  const missing = [...want.keys()].filter((dn) => !got.has(dn));
  const extra = [...got.keys()].filter((dn) => !want.has(dn));
  const changed = [...want.keys()].filter((dn) => got.has(dn) && got.get(dn) !== want.get(dn));
  if (!missing.length && !extra.length && !changed.length) return '';
  const show = (xs: string[]) => `${xs.length} ${JSON.stringify(xs.slice(0, 5))}`;
  const first = changed[0];
  const detail = first ? `\n${first}\n want ${want.get(first)}\n got  ${got.get(first)}` : '';
  return `missing ${show(missing)}; extra ${show(extra)}; changed ${show(changed)}${detail}`;
}

/** Waits until the consumer holds what the provider holds; returns the provider's export and the difference. */
async function converge(provider: string, consumer: string, ms = CONVERGE_MS): Promise<{ want: string; diff: string }> {
  const until = Date.now() + ms;
  let diff = 'not compared';
  let want = new Map<string, string>();
  while (Date.now() < until) {
    want = await exportOf(provider);
    const got = await exportOf(consumer).catch(() => new Map<string, string>());
    diff = difference(want, got);
    if (!diff) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return { want: [...want.keys()].join('\n'), diff };
}

async function attrOf(url: string, dn: string, attr: string): Promise<string | undefined> {
  const r = await runTool('ldapsearch', [
    ...bindArgs(ADMIN, ADMIN_PW),
    '-H',
    url,
    '-LLL',
    '-o',
    'ldif-wrap=no',
    '-s',
    'base',
    '-b',
    dn,
    attr,
  ]);
  return parseLdifEntries(r.stdout)[0]?.attrs.get(attr.toLowerCase())?.values[0];
}

/** Waits until the consumer's contextCSN is astldap's (it stores it after the entries); returns it. */
async function caughtUp(provider: Provider, consumer: Consumer): Promise<string> {
  const want = provider.server.directory.sync.contextCsn;
  const until = Date.now() + CONVERGE_MS;
  let held = '';
  while (Date.now() < until) {
    held = (await attrOf(consumer.url(), SUFFIX, 'contextCSN')) ?? '';
    if (held === want) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(held).toBe(want);
  return held;
}

async function modify(url: string, ldif: string): Promise<void> {
  const r = await runTool('ldapmodify', [...bindArgs(ADMIN, ADMIN_PW), '-H', url], { stdin: ldif });
  if (r.code !== 0) throw new Error(`ldapmodify failed (${r.code}): ${r.stderr}\n${ldif}`);
}

/** 200 changes: adds, modifies, renames (with a moved subtree) and deletes. */
function twoHundredChanges(tag: string, bulk: string): string {
  const out: string[] = [`dn: ou=${tag},${SUFFIX}\nchangetype: add\nobjectClass: organizationalUnit\nou: ${tag}\n`];
  for (let i = 0; i < 60; i++)
    out.push(
      `dn: uid=${tag}${i},ou=${tag},${SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: ${tag}${i}\ncn: ${tag} ${i}\nsn: T\n`,
    );
  for (let i = 0; i < 60; i++) out.push(`dn: uid=${tag}${i},ou=${tag},${SUFFIX}\nchangetype: modify\nreplace: sn\nsn: changed ${i}\n`);
  for (let i = 0; i < 40; i++)
    out.push(`dn: uid=${tag}${i},ou=${tag},${SUFFIX}\nchangetype: modrdn\nnewrdn: uid=${tag}r${i}\ndeleteoldrdn: 1\n`);
  for (let i = 40; i < 59; i++) out.push(`dn: uid=${tag}${i},ou=${tag},${SUFFIX}\nchangetype: delete\n`);
  for (let i = 0; i < 19; i++) out.push(`dn: uid=u${i + 100},ou=${bulk},${SUFFIX}\nchangetype: delete\n`);
  out.push(`dn: ou=${tag},${SUFFIX}\nchangetype: modrdn\nnewrdn: ou=${tag}-moved\ndeleteoldrdn: 1\n`);
  expect(out.length).toBe(200);
  return out.join('\n');
}

/** The Asterisk driver model (res_config_ldap) over ldapsearch/ldapmodify, bound as the Asterisk identity. */
function asteriskDriver(url: string): Driver {
  const read = (f: string) => readFileSync(path.join(repoRoot, f), 'utf8');
  const backend: Backend = {
    async search(base, filter) {
      const r = await runTool('ldapsearch', [
        ...bindArgs(ASTERISK_DN, 'asterisk'),
        '-H',
        url,
        '-LLL',
        '-o',
        'ldif-wrap=no',
        '-b',
        base,
        filter,
      ]);
      return { code: r.code, entries: r.code === 0 ? parseLdifEntries(r.stdout) : [] };
    },
    async modify() {
      throw new Error('the replica is read-only');
    },
  };
  return new Driver(loadDriverConfig(read('data/asterisk/res_ldap.conf'), read('data/asterisk/extconfig.conf')), backend);
}

const run = slapdAvailable() ? describe : describe.skip;

run('syncrepl: a stock slapd consumer replicates astldap', () => {
  let provider: Provider;
  let persistent: Consumer;

  beforeAll(async () => {
    provider = await startProvider();
    persistent = await startConsumer(provider.url, 'refreshAndPersist');
  }, LOAD_MS);

  afterAll(async () => {
    await persistent?.remove();
    await provider?.stop();
    if (provider) removeDir(provider.dataDir);
  });

  it(
    'the initial load arrives complete and equal',
    async () => {
      const { want, diff } = await converge(provider.url, persistent.url(), LOAD_MS);
      expect(want.split('\n').length).toBeGreaterThan(PEOPLE);
      expect(diff).toBe('');
    },
    LOAD_MS + 60_000,
  );

  it('adds, modifies, renames, deletes and Asterisk registrations arrive while persisting', async ({ annotate }) => {
    await modify(
      provider.url,
      [
        `dn: uid=new1,ou=people,${SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: new1\ncn: New One\nsn: One\nuserPassword: new1-password\n`,
        `dn: uid=alice,ou=people,${SUFFIX}\nchangetype: modify\nreplace: telephoneNumber\ntelephoneNumber: +1 555 0199\n`,
        `dn: uid=bob,ou=people,${SUFFIX}\nchangetype: modrdn\nnewrdn: uid=robert\ndeleteoldrdn: 1\n`,
        `dn: uid=u1999,ou=bulk,${SUFFIX}\nchangetype: delete\n`,
        // A subtree rename: the consumer moves the children with their parent.
        `dn: ou=bulk,${SUFFIX}\nchangetype: modrdn\nnewrdn: ou=mass\ndeleteoldrdn: 1\n`,
      ].join('\n'),
    );
    // A registration as Asterisk writes it, bound as its own identity.
    const reg = await runTool('ldapmodify', [...bindArgs(ASTERISK_DN, 'asterisk'), '-H', provider.url], {
      stdin: [
        `dn: cn=1000,ou=sip,${SUFFIX}`,
        'changetype: modify',
        'replace: AstAccountIPAddress',
        'AstAccountIPAddress: 192.0.2.44',
        '-',
        'replace: AstAccountPort',
        'AstAccountPort: 5062',
        '-',
        'replace: AstAccountExpirationTimestamp',
        `AstAccountExpirationTimestamp: ${Math.floor(Date.now() / 1000) + 3600}`,
        '-',
        'replace: AstAccountFullContact',
        'AstAccountFullContact: sip:1000@192.0.2.44:5062',
        '',
      ].join('\n'),
    });
    expect(reg.code, reg.stderr).toBe(0);
    // How long the registration takes to reach the replica (reported, not asserted: machine speed).
    const sent = Date.now();
    const until = sent + CONVERGE_MS;
    let seen: string | undefined;
    while (
      Date.now() < until &&
      (seen = await attrOf(persistent.url(), `cn=1000,ou=sip,${SUFFIX}`, 'AstAccountIPAddress')) !== '192.0.2.44'
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toBe('192.0.2.44');
    await annotate(`registration on the replica ${Date.now() - sent} ms after ldapmodify returned`);
    const { want, diff } = await converge(provider.url, persistent.url());
    expect(want).toContain('uid=robert,');
    expect(want).toContain('ou=mass,');
    expect(want).not.toContain('uid=u1999,');
    expect(diff).toBe('');

    // res_config_ldap's peer lookup, answered by the replica.
    const rt = await asteriskDriver(persistent.url()).realtime('sippeers', 'name', '1000');
    expect(rt.code).toBe(0);
    const row = singleRow(rt);
    expect(value(row, 'ipaddr')).toBe('192.0.2.44');
    expect(value(row, 'port')).toBe('5062');
  }, 60_000);

  it('registration writes sent to a consumer reach astldap through the chain overlay', async () => {
    const chained = await startConsumer(provider.url, 'refreshAndPersist', true);
    try {
      expect((await converge(provider.url, chained.url(), 60_000)).diff).toBe('');
      const dn = `cn=1001,ou=sip,${SUFFIX}`;
      const r = await runTool('ldapmodify', [...bindArgs(ASTERISK_DN, 'asterisk'), '-H', chained.url()], {
        stdin: `dn: ${dn}\nchangetype: modify\nreplace: AstAccountIPAddress\nAstAccountIPAddress: 198.51.100.7\n`,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(await attrOf(provider.url, dn, 'AstAccountIPAddress')).toBe('198.51.100.7');
      expect(await attrOf(provider.url, dn, 'modifiersName')).toBe(ASTERISK_DN);
      const { diff } = await converge(provider.url, chained.url());
      expect(diff).toBe('');
    } finally {
      await chained.remove();
    }
  }, 120_000);

  it('a consumer stopped during 200 changes catches up from the session log', async () => {
    const held = await caughtUp(provider, persistent);
    await persistent.stop();
    await modify(provider.url, twoHundredChanges('a', 'mass'));
    // The consumer's state is still covered by the log: its refresh is a delta.
    expect(held >= provider.server.directory.sync.horizon).toBe(true);
    await persistent.start();
    const { want, diff } = await converge(provider.url, persistent.url());
    expect(want).toContain('ou=a-moved');
    expect(diff).toBe('');
  }, 90_000);

  it('a refreshOnly consumer polls and converges', async () => {
    const polling = await startConsumer(provider.url, 'refreshOnly');
    try {
      let r = await converge(provider.url, polling.url(), 60_000);
      expect(r.diff).toBe('');
      await modify(provider.url, `dn: uid=alice,ou=people,${SUFFIX}\nchangetype: modify\nreplace: description\ndescription: polled\n`);
      r = await converge(provider.url, polling.url());
      expect(await attrOf(polling.url(), `uid=alice,ou=people,${SUFFIX}`, 'description')).toBe('polled');
      expect(r.diff).toBe('');
    } finally {
      await polling.remove();
    }
  }, 120_000);

  it('astldap restarted under a persisting consumer: the consumer reconnects and converges', async () => {
    const { port, dataDir } = provider;
    await provider.stop();
    provider = await startProvider({ dataDir, port });
    await modify(provider.url, `dn: uid=alice,ou=people,${SUFFIX}\nchangetype: modify\nreplace: description\ndescription: after restart\n`);
    const { want, diff } = await converge(provider.url, persistent.url(), 40_000);
    expect(want).toContain('uid=alice,');
    expect(await attrOf(persistent.url(), `uid=alice,ou=people,${SUFFIX}`, 'description')).toBe('after restart');
    expect(diff).toBe('');
  }, 90_000);
});

run('syncrepl: a session log too short for the outage', () => {
  it('falls back to the present phase: deletes and renames still arrive', async () => {
    const provider = await startProvider({ sessionLog: 20, people: 300 });
    const consumer = await startConsumer(provider.url, 'refreshAndPersist');
    try {
      let r = await converge(provider.url, consumer.url(), 60_000);
      expect(r.diff).toBe('');
      const held = await caughtUp(provider, consumer);
      await consumer.stop();
      await modify(provider.url, twoHundredChanges('b', 'bulk'));
      // The log no longer reaches back to the consumer's state: its refresh is a present phase.
      expect(held < provider.server.directory.sync.horizon).toBe(true);
      await consumer.start();
      r = await converge(provider.url, consumer.url());
      expect(r.want).toContain('ou=b-moved');
      expect(r.diff).toBe('');
    } finally {
      await consumer.remove();
      await provider.stop();
      removeDir(provider.dataDir);
    }
  }, 180_000);
});
