// `astldap verify` (issue 25): a stopped server's database checked offline, as slapschema does.
// A database built by `astldap import` and then changed through a running server (modify,
// modrdn, delete, add) verifies clean; copies of it corrupted on purpose with `level` (a bogus
// index key, a missing one, an entry the schema refuses, an entry gone behind its indexes, a
// wrong entry count, a sync log record for an entry that is not there) each fail, with the
// problem named: verify is not a no-op. It refuses a data directory a server holds. All of it
// for both key layouts (store.layout in the test's configuration), each corrupted in its own
// keys: layout 2's by normalised DN, layout 3's by entry ID (src/store/id-tree.ts).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Level } from 'level';
import { beforeAll, describe, expect, it } from 'vitest';
import { idKey, parseIdKey } from '../../src/store/id-list.js';
import { bodyBytes, encodeStored, isOperational, readHead, recordKey } from '../../src/store/id-tree.js';
import { AttrTable, decodeRecord, encodeRecord } from '../../src/store/record-codec.js';
import { spawnAstldap } from '../helpers/astldap.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { ADMIN, B, BASE_LDIF, configCopy, copyDataDir, peopleLdif, runCli, withDb } from './store-tools.js';

const SEP = '\x00';
const PEOPLE = 300;
/** A key, as verify prints it (JSON, NUL as \u0000), for a RegExp. */
const shown = (key: string) => JSON.stringify(key).replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/** Layout 2: the normalised DN the database keeps for uid=UID,ou=people (read from its entry keys). */
async function ndnOf(db: Level<string, string>, uid: string): Promise<string> {
  for await (const k of db.keys({ gt: 'e' + SEP, lt: 'e\x01' })) if (k.startsWith(`e${SEP}uid=${uid},`)) return k.slice(2);
  throw new Error(`no entry uid=${uid}`);
}

/** Layout 3: the ID of the entry whose RDN (normalised) is NRDN, and the dn2id key that names it. */
async function idOf(db: Level<string, string>, nrdn: string): Promise<{ id: string; place: string }> {
  for await (const [k, v] of db.iterator({ gt: 'n' + SEP, lt: 'n\x01' })) if (k.endsWith(SEP + nrdn)) return { id: v, place: k };
  throw new Error(`no entry ${nrdn}`);
}

/** Layout 3: rewrites the record of ID with its attributes changed by `edit` (in the record codec). */
async function editRecord(db: Level<string, string>, id: string, edit: (attrs: Record<string, string[]>) => void): Promise<void> {
  const rows: Array<[number, string]> = [];
  for await (const [k, v] of db.iterator({ gt: 'a' + SEP, lt: 'a\x01' })) rows.push([parseIdKey(k, 2)!, v]);
  const table = AttrTable.of(rows);
  const stored = (await db.get(recordKey(id)))!;
  const h = readHead(stored);
  const attrs = decodeRecord(bodyBytes(stored, h), table);
  edit(attrs);
  const body = encodeRecord(attrs, table, isOperational);
  expect(table.takeFresh(), 'the edit names no new attribute').toEqual([]);
  await db.put(recordKey(id), encodeStored(h.parent, h.nrdn, h.rdn, body));
}

describe.each([2, 3] as const)('astldap verify (store.layout %i)', (layout) => {
  const dir = useTempDir('astldap-verify-');
  const data = () => path.join(dir(), 'data');
  const config = () => path.join(dir(), 'config.yaml');
  const cli = (args: string[]) => runCli(args, { config: config() });
  let copies = 0;
  /** verify on a fresh copy of the database after `corrupt` changed it directly. */
  const verifyCorrupted = async (corrupt: (db: Level<string, string>) => Promise<void>) => {
    const copy = path.join(dir(), `copy${++copies}`);
    copyDataDir(data(), copy);
    await withDb(copy, corrupt);
    return cli(['verify', '--data', copy]);
  };
  const serve = () => spawnAstldap(['serve', '--config', config(), '--data', data(), '--listen', 'ldap://127.0.0.1:0', '--no-admin']);

  beforeAll(async () => {
    configCopy(config(), (cfg) => void (cfg.store.layout = layout));
    const file = path.join(dir(), 'people.ldif');
    writeFileSync(file, BASE_LDIF + '\n' + peopleLdif(PEOPLE));
    const imp = await cli(['import', file, '--data', data()]);
    expect(imp.code, imp.stderr).toBe(0);
    // The database has the layout asked for.
    expect(await withDb(data(), (db) => db.get(`x${SEP}layout`))).toBe(String(layout));
    const server = await serve();
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
    const r = await cli(['verify', '--data', data()]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${PEOPLE + 2} entries against the schema: 0 problems`);
    expect(r.stdout).toMatch(/attribute indexes, the children index and the entry count: 0 problems/);
    expect(r.stdout).toMatch(/sync log +\d+ records, contextCSN \d{14}\.\d{6}Z#\S+: 0 problems/);
    expect(r.stdout).toContain('OK: no problems found');
  });

  it('--help says what it checks; a directory without a database is a clear error', async () => {
    const help = await cli(['verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: astldap verify');
    const none = await cli(['verify', '--data', path.join(dir(), 'nothing-here')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no database at \S+nothing-here\/db/);
  });

  it('indexes built for another index configuration: said, not listed key by key', async () => {
    const other = configCopy(path.join(dir(), 'more-indexes.yaml'), (cfg) => {
      cfg.store.layout = layout;
      cfg.store.indexes['sn'] = ['eq'];
    });
    const r = await runCli(['verify', '--data', data()], { config: other });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/FAILED: 1 problem\n {2}indexes: the indexes were built for another index configuration/);
  });

  it('refuses a data directory a running server holds', async () => {
    const server = await serve();
    try {
      const r = await cli(['verify', '--data', data()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`in use by astldap pid ${server.pid}`));
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
    }
  });

  it('a bogus equality index key written into a copy: named, exit 1', async () => {
    let id = '';
    const r = await verifyCorrupted(async (db) => {
      if (layout === 2) await db.put(`q${SEP}uid${SEP}nobody`, await ndnOf(db, 'p10'));
      else await db.put(`q${SEP}uid${SEP}nobody`, (id = (await idOf(db, 'uid=p10')).id));
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/FAILED: 1 problem\n/);
    if (layout === 2) expect(r.stdout).toMatch(/indexes: equality index of "q\\u0000uid\\u0000nobody" differs/);
    else expect(r.stdout).toMatch(new RegExp(`indexes: stale index key ${shown(`i${SEP}uid${SEP}nobody${SEP}${id}`)}`));
  });

  it('a presence key for no entry, and an entry that lost one of its keys: both named', async () => {
    let id = '';
    const ghost = idKey(1_000_000);
    const r = await verifyCorrupted(async (db) => {
      if (layout === 2) {
        const ndn = await ndnOf(db, 'p11');
        await db.put(`p${SEP}mail${SEP}uid=ghost,ou=people,dc=example,dc=domain`, '');
        await db.del(`p${SEP}objectclass${SEP}${ndn}`);
      } else {
        id = (await idOf(db, 'uid=p11')).id;
        await db.put(`p${SEP}mail${SEP}${ghost}`, '');
        await db.del(`p${SEP}objectclass${SEP}${id}`);
      }
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/FAILED: 2 problems\n/);
    if (layout === 2) {
      expect(r.stdout).toMatch(/indexes: stray key "p\\u0000mail\\u0000uid=ghost,ou=people,dc=example,dc=domain"/);
      expect(r.stdout).toMatch(/indexes: missing key "p\\u0000objectclass\\u0000uid=p11,/);
    } else {
      expect(r.stdout).toMatch(new RegExp(`indexes: stale index key ${shown(`p${SEP}mail${SEP}${ghost}`)}`));
      expect(r.stdout).toMatch(new RegExp(`indexes: missing index key ${shown(`p${SEP}objectclass${SEP}${id}`)}`));
    }
  });

  it('an entry changed behind the server to break the schema: named with the rule it breaks', async () => {
    const r = await verifyCorrupted(async (db) => {
      if (layout === 2) {
        const key = `e${SEP}${await ndnOf(db, 'p12')}`;
        const rec = JSON.parse((await db.get(key))!) as { dn: string; attrs: Record<string, string[]> };
        delete rec.attrs['sn'];
        await db.put(key, JSON.stringify(rec));
      } else {
        await editRecord(db, (await idOf(db, 'uid=p12')).id, (attrs) => void delete attrs['sn']);
      }
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/entries: uid=p12,ou=people,dc=example,dc=domain: object class '\w+' requires attribute 'sn' \(result 65\)/);
    expect(r.stdout).toMatch(/entries +\d+ entries against the schema: 1 problem\n/);
  });

  it('a stored entry cut short: named, not a crash', async () => {
    let id = '';
    const r = await verifyCorrupted(async (db) => {
      const key = layout === 2 ? `e${SEP}${await ndnOf(db, 'p14')}` : recordKey((id = (await idOf(db, 'uid=p14')).id));
      const stored = (await db.get(key))!;
      await db.put(key, stored.slice(0, stored.length - 2));
    });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    if (layout === 2) expect(r.stdout).toMatch(/entries: "uid=p14,ou=people,dc=example,dc=domain": the stored entry does not parse/);
    else expect(r.stdout).toMatch(new RegExp(`indexes: record ${shown(id).slice(1, -1)} cannot be read: `));
    expect(r.stdout).toMatch(
      /sync log: entryUUID \S+ is logged \(add, \S+\) at "uid=p14,ou=people,dc=example,dc=domain" but no entry has it/,
    );
  });

  it('an entry removed behind its indexes: the count, its children and index keys and the sync log disagree', async () => {
    let at = { id: '', place: '' };
    const r = await verifyCorrupted(async (db) => {
      if (layout === 2) await db.del(`e${SEP}${await ndnOf(db, 'p13')}`);
      else {
        at = await idOf(db, 'uid=p13');
        await db.del(recordKey(at.id));
      }
    });
    expect(r.code, r.stdout).toBe(1);
    if (layout === 2) {
      expect(r.stdout).toMatch(/indexes: count \d+, entries \d+/);
      expect(r.stdout).toMatch(/indexes: stray key "c\\u0000ou=people,dc=example,dc=domain\\u0000uid=p13,/);
      expect(r.stdout).toMatch(/indexes: equality index of "q\\u0000uid\\u0000p13" differs/);
    } else {
      expect(r.stdout).toContain(`indexes: entry count is ${PEOPLE + 2}, the records are ${PEOPLE + 1}`);
      expect(r.stdout).toMatch(
        new RegExp(`indexes: dn2id key ${shown(at.place)} names ${shown(at.id).slice(1, -1)}, whose record is not there`),
      );
      expect(r.stdout).toMatch(new RegExp(`indexes: stale index key ${shown(`i${SEP}uid${SEP}p13${SEP}${at.id}`)}`));
    }
    expect(r.stdout).toMatch(
      /sync log: entryUUID \S+ is logged \(add, \S+\) at "uid=p13,ou=people,dc=example,dc=domain" but no entry has it/,
    );
  });

  it('a wrong entry count: named', async () => {
    const r = await verifyCorrupted(async (db) => {
      await db.put(`x${SEP}count`, '7');
      if (layout === 3) await db.put(`x${SEP}nextid`, '2'); // and IDs handed out again
    });
    expect(r.code, r.stdout).toBe(1);
    if (layout === 2) {
      expect(r.stdout).toMatch(/FAILED: 1 problem\n {2}indexes: count 7, entries 302\n/);
    } else {
      expect(r.stdout).toMatch(/FAILED: 2 problems\n/);
      expect(r.stdout).toContain(`indexes: entry count is 7, the records are ${PEOPLE + 2}`);
      expect(r.stdout).toMatch(/indexes: next ID 2 is not above the largest ID \d+/);
    }
  });

  it('a sync log record for an entry that does not exist, and a parent missing under its children', async () => {
    let people = '';
    const r = await verifyCorrupted(async (db) => {
      await db.put(
        `m${SEP}synclog/20000101000000.000000Z#000000#000#000000/000000`,
        'add 00000000-0000-4000-8000-000000000000 uid=nobody,dc=example,dc=domain',
      );
      if (layout === 2) await db.del(`e${SEP}ou=people,dc=example,dc=domain`);
      else await db.del(recordKey((people = (await idOf(db, 'ou=people')).id)));
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(
      /sync log: entryUUID 00000000-0000-4000-8000-000000000000 is logged \(add, 20000101000000\.000000Z#000000#000#000000\) at "uid=nobody,dc=example,dc=domain" but no entry has it/,
    );
    expect(r.stdout).toMatch(
      /entries: \d+ entries \(the first "uid=p0,ou=people,dc=example,dc=domain"\) have no parent: "ou=people,dc=example,dc=domain" is not stored/,
    );
    expect(r.stdout).toMatch(/sync log: entryUUID \S+ is logged \(add, \S+\) at "ou=people,dc=example,dc=domain" but no entry has it/);
    // Layout 3: the children's dn2id keys are under an ID with no record, said once for all of them.
    if (layout === 3) {
      const first = shown(`n${SEP}${people}${SEP}uid=p0`);
      expect(r.stdout).toMatch(
        new RegExp(`indexes: ${PEOPLE} dn2id keys \\(the first ${first}\\) are under ${shown(people).slice(1, -1)}, which is not stored\n`),
      );
    }
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
