// A committed LDAP transaction (RFC 5805) as a stock OpenLDAP syncrepl consumer sees it: every
// change of the one batch arrives (adds, modifies, a subtree rename, deletes, a DN deleted and
// added again as another entry, an entry added and removed within the transaction not at all),
// both while persisting and when a stopped consumer catches up from the session log. Then
// `astldap verify` finds the database (entries, indexes, sync log) consistent.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import {
  asteriskSchemaFile,
  confPreamble,
  freePort,
  mdbDatabase,
  repoRoot,
  setUpSlapd,
  slapdAvailable,
  launchSlapd,
} from '../helpers/slapd.js';
import type { Launched } from '../helpers/slapd.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { runCli } from '../hardening/store-tools.js';
import { bindArgs, canonicalize, parseLdifEntries, runTool } from '../helpers/tools.js';

const SUFFIX = 'dc=example,dc=domain';
const ADMIN = `cn=admin,${SUFFIX}`;
const ADMIN_PW = 'secret';
const REPL_DN = `cn=replicator,ou=services,${SUFFIX}`;
const REPL_PW = 'replicator-secret';
const CONVERGE_MS = 30_000;

const SEED = [
  `dn: ${REPL_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: replicator\nuserPassword: ${REPL_PW}\n`,
  `dn: ou=team,${SUFFIX}\nobjectClass: organizationalUnit\nou: team\n`,
  ...Array.from({ length: 20 }, (_, i) => `dn: uid=m${i},ou=team,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: m${i}\ncn: M ${i}\nsn: S\n`),
].join('\n');

async function exportOf(url: string): Promise<Map<string, string>> {
  const r = await runTool('ldapsearch', [
    ...bindArgs(ADMIN, ADMIN_PW),
    '-H',
    url,
    '-LLL',
    '-o',
    'ldif-wrap=no',
    '-b',
    SUFFIX,
    '*',
    'entryUUID',
    'entryCSN',
  ]);
  if (r.code !== 0 && r.code !== 32) throw new Error(`ldapsearch failed (${r.code}): ${r.stderr}`);
  return new Map(canonicalize(parseLdifEntries(r.stdout)).map((e) => [e.dn.toLowerCase(), JSON.stringify(e.attrs)]));
}

/** Polls until the consumer holds what the provider holds; '' then, else what differs. */
async function converge(provider: string, consumer: string): Promise<string> {
  const until = Date.now() + CONVERGE_MS;
  let diff = 'not compared';
  while (Date.now() < until) {
    const want = await exportOf(provider);
    const got = await exportOf(consumer).catch(() => new Map<string, string>());
    const bad = [...new Set([...want.keys(), ...got.keys()])].filter((dn) => want.get(dn) !== got.get(dn));
    diff = bad.length ? `${bad.length} differ: ${bad.slice(0, 5).join('; ')}` : '';
    if (!diff) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return diff;
}

/** One transaction of every kind of change, named by tag. */
function transaction(tag: string, from: number): string {
  return [
    `dn: ou=${tag},${SUFFIX}\nchangetype: add\nobjectClass: organizationalUnit\nou: ${tag}\n`,
    `dn: uid=${tag}1,ou=${tag},${SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: ${tag}1\ncn: One\nsn: S\n`,
    `dn: uid=${tag}1,ou=${tag},${SUFFIX}\nchangetype: modify\nreplace: sn\nsn: Modified in the same transaction\n`,
    `dn: uid=m${from},ou=team,${SUFFIX}\nchangetype: modify\nreplace: description\ndescription: ${tag}\n`,
    `dn: uid=m${from + 1},ou=team,${SUFFIX}\nchangetype: delete\n`,
    // The same DN deleted and added again: another entry (a new entryUUID).
    `dn: uid=m${from + 2},ou=team,${SUFFIX}\nchangetype: delete\n`,
    `dn: uid=m${from + 2},ou=team,${SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: m${from + 2}\ncn: Again\nsn: S\n`,
    // Added and removed: nothing to replicate.
    `dn: uid=${tag}tmp,ou=team,${SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: ${tag}tmp\ncn: T\nsn: S\n`,
    `dn: uid=${tag}tmp,ou=team,${SUFFIX}\nchangetype: delete\n`,
    // A subtree renamed after its child was added.
    `dn: ou=${tag},${SUFFIX}\nchangetype: modrdn\nnewrdn: ou=${tag}-moved\ndeleteoldrdn: 1\n`,
  ].join('\n');
}

describe.skipIf(!slapdAvailable())('a committed transaction replicates to a stock slapd consumer', () => {
  let server: AstldapServer;
  let url: string;
  let consumerDir: string;
  let consumer: Launched | undefined;
  const dataDir = tempDir('astldap-txn-sync-');

  beforeAll(async () => {
    const { startServer } = await import('../../src/index.js');
    const port = await freePort();
    url = `ldap://127.0.0.1:${port}`;
    server = await startServer({
      configFile: path.join(repoRoot, 'config.yaml'),
      dataDir,
      listen: [url],
      seedLdif: SEED,
      config: { replication: { identities: [REPL_DN], sessionLog: 10000 }, store: { sync: false }, passwordScheme: 'SSHA' },
      logger: false,
    });
    const conf = (dir: string) =>
      [
        ...confPreamble(dir, [asteriskSchemaFile(), path.join(repoRoot, 'schema/astldap-asterisk.schema')]),
        ...mdbDatabase(dir, SUFFIX, ADMIN, ADMIN_PW),
        'dbnosync',
        'index objectClass,entryUUID,entryCSN eq',
        `syncrepl rid=001 provider=${url} type=refreshAndPersist retry="1 +" searchbase="${SUFFIX}" scope=sub ` +
          `bindmethod=simple binddn="${REPL_DN}" credentials=${REPL_PW} schemachecking=off`,
        'access to * by * read',
        '',
      ].join('\n');
    const set = await setUpSlapd('astldap-txn-consumer-', conf);
    consumerDir = set.dir;
    consumer = set.launched;
  }, 120_000);

  afterAll(async () => {
    await consumer?.stop();
    if (consumerDir) removeDir(consumerDir);
    await server?.close();
    removeDir(dataDir);
  });

  const commit = async (ldif: string) => {
    const r = await runTool('ldapmodify', [...bindArgs(ADMIN, ADMIN_PW), '-H', url, '-E', 'txn'], { stdin: ldif });
    expect(r.code, r.stderr).toBe(0);
  };
  const consumerUrl = () => `ldap://127.0.0.1:${consumer!.port}`;

  it('while persisting', async () => {
    expect(await converge(url, consumerUrl())).toBe('');
    await commit(transaction('p', 0));
    expect(await converge(url, consumerUrl())).toBe('');
    const moved = await exportOf(consumerUrl());
    expect(moved.has(`uid=p1,ou=p-moved,${SUFFIX}`)).toBe(true);
    expect(moved.has(`uid=m1,ou=team,${SUFFIX}`)).toBe(false);
    expect(moved.has(`uid=ptmp,ou=team,${SUFFIX}`)).toBe(false);
  }, 90_000);

  it('a stopped consumer catches up from the session log', async () => {
    await consumer!.stop();
    await commit(transaction('q', 10));
    consumer = await launchSlapd(path.join(consumerDir, 'slapd.conf'));
    expect(await converge(url, consumerUrl())).toBe('');
    const after = await exportOf(consumerUrl());
    expect(after.has(`uid=q1,ou=q-moved,${SUFFIX}`)).toBe(true);
    expect(after.has(`uid=m11,ou=team,${SUFFIX}`)).toBe(false);
    // The re-added DN holds the new entry (its own entryUUID) on both sides.
    expect(after.get(`uid=m12,ou=team,${SUFFIX}`)).toBe((await exportOf(url)).get(`uid=m12,ou=team,${SUFFIX}`));
  }, 90_000);

  it('astldap verify finds the database consistent after both', async () => {
    await server.close();
    const v = await runCli(['verify', '--data', dataDir]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('OK: no problems found');
  }, 90_000);
});
