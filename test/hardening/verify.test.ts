// `astldap verify` (issue 25): a stopped server's database checked offline, as slapschema does.
// A database built by `astldap import` and then changed through a running server (modify,
// modrdn, delete, add) verifies clean; copies of it corrupted on purpose with `level` (a bogus
// index key, a missing one, an entry the schema refuses, an entry gone behind its indexes, a
// wrong entry count, a sync log record for an entry that is not there) each fail, with the
// problem named: verify is not a no-op. It refuses a data directory a server holds.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Level } from 'level';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { spawnAstldap } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { ADMIN, B, BASE_LDIF, CONFIG, copyDataDir, peopleLdif, runCli, withDb } from './store-tools.js';

const SEP = '\x00';
const PEOPLE = 300;

/** The normalised DN the database keeps for uid=UID,ou=people (read from its entry keys). */
async function ndnOf(db: Level<string, string>, uid: string): Promise<string> {
  for await (const k of db.keys({ gt: 'e' + SEP, lt: 'e\x01' })) if (k.startsWith(`e${SEP}uid=${uid},`)) return k.slice(2);
  throw new Error(`no entry uid=${uid}`);
}

describe('astldap verify', () => {
  const dir = useTempDir('astldap-verify-');
  const data = () => path.join(dir(), 'data');
  let copies = 0;
  /** verify on a fresh copy of the database after `corrupt` changed it directly. */
  const verifyCorrupted = async (corrupt: (db: Level<string, string>) => Promise<void>) => {
    const copy = path.join(dir(), `copy${++copies}`);
    copyDataDir(data(), copy);
    await withDb(copy, corrupt);
    return runCli(['verify', '--data', copy]);
  };

  beforeAll(async () => {
    const file = path.join(dir(), 'people.ldif');
    writeFileSync(file, BASE_LDIF + '\n' + peopleLdif(PEOPLE));
    const imp = await runCli(['import', file, '--data', data()]);
    expect(imp.code, imp.stderr).toBe(0);
    const server = await spawnAstldap(['serve', '--config', CONFIG, '--data', data(), '--listen', 'ldap://127.0.0.1:0', '--no-admin']);
    try {
      const ldif = [
        `dn: uid=p1,ou=people,${B}\nchangetype: modify\nreplace: mail\nmail: first@example.domain\n`,
        `dn: uid=p2,ou=people,${B}\nchangetype: modrdn\nnewrdn: uid=p2x\ndeleteoldrdn: 1\n`,
        `dn: uid=p3,ou=people,${B}\nchangetype: delete\n`,
        `dn: uid=q1,ou=people,${B}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: q1\ncn: Q\nsn: Q\n`,
      ].join('\n');
      const r = await runTool('ldapmodify', ['-H', server.url, ...bindArgs(...ADMIN)], { stdin: ldif });
      expect(r.code, r.stderr).toBe(0);
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
    }
  }, 180_000);

  it('a database built by import and changed by a server verifies clean', async () => {
    const r = await runCli(['verify', '--data', data()]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${PEOPLE + 2} entries against the schema: 0 problems`);
    expect(r.stdout).toMatch(/attribute indexes, the children index and the entry count: 0 problems/);
    expect(r.stdout).toMatch(/sync log +\d+ records, contextCSN \d{14}\.\d{6}Z#\S+: 0 problems/);
    expect(r.stdout).toContain('OK: no problems found');
  });

  it('--help says what it checks; a directory without a database is a clear error', async () => {
    const help = await runCli(['verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: astldap verify');
    const none = await runCli(['verify', '--data', path.join(dir(), 'nothing-here')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no database at \S+nothing-here\/db/);
  });

  it('indexes built for another index configuration: said, not listed key by key', async () => {
    const cfg = YAML.parse(readFileSync(CONFIG, 'utf8')) as { store: { indexes: Record<string, string[]> } } & Record<string, unknown>;
    cfg.store.indexes['sn'] = ['eq'];
    Object.assign(cfg, { schema: { ...(cfg['schema'] as object), dir: path.join(repoRoot, 'schema') } });
    const other = path.join(dir(), 'more-indexes.yaml');
    writeFileSync(other, YAML.stringify(cfg));
    const r = await runCli(['verify', '--data', data()], { config: other });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/FAILED: 1 problem\n {2}indexes: the indexes were built for another index configuration/);
  });

  it('refuses a data directory a running server holds', async () => {
    const server = await spawnAstldap(['serve', '--config', CONFIG, '--data', data(), '--listen', 'ldap://127.0.0.1:0', '--no-admin']);
    try {
      const r = await runCli(['verify', '--data', data()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`in use by astldap pid ${server.pid}`));
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
    }
  });

  it('a bogus equality index key written into a copy: named, exit 1', async () => {
    const r = await verifyCorrupted(async (db) => {
      await db.put(`q${SEP}uid${SEP}nobody`, await ndnOf(db, 'p10'));
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/FAILED: 1 problem\n/);
    expect(r.stdout).toMatch(/indexes: equality index of "q\\u0000uid\\u0000nobody" differs/);
  });

  it('a presence key for no entry, and an entry that lost one of its keys: both named', async () => {
    const r = await verifyCorrupted(async (db) => {
      const ndn = await ndnOf(db, 'p11');
      await db.put(`p${SEP}mail${SEP}uid=ghost,ou=people,dc=example,dc=domain`, '');
      await db.del(`p${SEP}objectclass${SEP}${ndn}`);
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/indexes: stray key "p\\u0000mail\\u0000uid=ghost,ou=people,dc=example,dc=domain"/);
    expect(r.stdout).toMatch(/indexes: missing key "p\\u0000objectclass\\u0000uid=p11,/);
  });

  it('an entry changed behind the server to break the schema: named with the rule it breaks', async () => {
    const r = await verifyCorrupted(async (db) => {
      const key = `e${SEP}${await ndnOf(db, 'p12')}`;
      const rec = JSON.parse((await db.get(key))!) as { dn: string; attrs: Record<string, string[]> };
      delete rec.attrs['sn'];
      await db.put(key, JSON.stringify(rec));
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/entries: uid=p12,ou=people,dc=example,dc=domain: object class '\w+' requires attribute 'sn' \(result 65\)/);
    expect(r.stdout).toMatch(/entries +\d+ entries against the schema: 1 problem\n/);
  });

  it('an entry removed behind its indexes: the count, its children and index keys and the sync log disagree', async () => {
    const r = await verifyCorrupted(async (db) => {
      await db.del(`e${SEP}${await ndnOf(db, 'p13')}`);
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/indexes: count \d+, entries \d+/);
    expect(r.stdout).toMatch(/indexes: stray key "c\\u0000ou=people,dc=example,dc=domain\\u0000uid=p13,/);
    expect(r.stdout).toMatch(/indexes: equality index of "q\\u0000uid\\u0000p13" differs/);
    expect(r.stdout).toMatch(
      /sync log: entryUUID \S+ is logged \(add, \S+\) at "uid=p13,ou=people,dc=example,dc=domain" but no entry has it/,
    );
  });

  it('a sync log record for an entry that does not exist, and a parent missing under its children', async () => {
    const r = await verifyCorrupted(async (db) => {
      await db.put(
        `m${SEP}synclog/20000101000000.000000Z#000000#000#000000/000000`,
        'add 00000000-0000-4000-8000-000000000000 uid=nobody,dc=example,dc=domain',
      );
      await db.del(`e${SEP}ou=people,dc=example,dc=domain`);
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(
      /sync log: entryUUID 00000000-0000-4000-8000-000000000000 is logged \(add, 20000101000000\.000000Z#000000#000#000000\) at "uid=nobody,dc=example,dc=domain" but no entry has it/,
    );
    expect(r.stdout).toMatch(
      /entries: \d+ entries \(the first "uid=p0,ou=people,dc=example,dc=domain"\) have no parent: "ou=people,dc=example,dc=domain" is not stored/,
    );
    expect(r.stdout).toMatch(/sync log: entryUUID \S+ is logged \(add, \S+\) at "ou=people,dc=example,dc=domain" but no entry has it/);
  });

  it('a stored schema that does not build, and a horizon past the contextCSN: both said', async () => {
    const r = await verifyCorrupted(async (db) => {
      await db.put(
        `m${SEP}schema:sources`,
        JSON.stringify([
          { name: 'broken', origin: 'ldap', directives: [{ kind: 'objectclass', text: "( 1.2.3.4 NAME 'x' SUP noSuchClass )" }] },
        ]),
      );
      await db.put(`m${SEP}sync/horizon`, '29991231235959.999999Z#000000#000#000000');
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(
      /entries: the schema changed over LDAP \(stored in the database\) does not build: .*; checked against the files alone/,
    );
    expect(r.stdout).toMatch(/sync log: the session log's horizon 29991231235959\.999999Z#000000#000#000000 is newer than the contextCSN/);
  });
});
