// Forged sync cookies against astldap and a private slapd with syncprov, the same requests to
// both (ldapsearch -E sync=ro/COOKIE): a cookie naming only another server's sid, a CSN from the
// future, garbage. What the provider may answer is a full refresh or a refusal, never a delta
// from state it never issued (a silent gap for the consumer); astldap answers as syncprov does.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confPreamble, mdbDatabase, ROOT_DN, ROOT_PW, setUpSlapd, SUFFIX, type Launched } from '../helpers/slapd.js';
import { removeDir } from '../helpers/tmp.js';
import { bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';
import { startHardened, type Hardened } from './harness.js';

const BASE = `ou=synctest,${SUFFIX}`;
const PEOPLE = ['p1', 'p2', 'p3'];

/** What a refresh was: a full one (every entry, present phase), a delta, or a result code. */
type Outcome = 'full' | 'delta' | `code ${number}`;

async function refreshWith(url: string, cookie: string): Promise<{ outcome: Outcome; entries: number }> {
  const r = await runTool('ldapsearch', [...bindArgs(ROOT_DN, ROOT_PW), '-H', url, '-b', BASE, '-E', `sync=ro/${cookie}`, '1.1']);
  const code = Number(/^result: (\d+)/m.exec(r.stdout)?.[1] ?? -1);
  const entries = (r.stdout.match(/^dn: /gm) ?? []).length;
  if (code !== 0) return { outcome: `code ${code}`, entries };
  // A full refresh sends every entry of the scope (the OU and its people) as added; a delta only
  // the changed one. (slapd ends a full refresh for a cookie without a rid with refreshDeletes.)
  const added = (r.stdout.match(/^# SyncState control, UUID \S+ added/gm) ?? []).length;
  return { outcome: added === PEOPLE.length + 1 ? 'full' : 'delta', entries };
}

async function modify(url: string, ldif: string): Promise<void> {
  const r = await runTool('ldapmodify', [...bindArgs(ROOT_DN, ROOT_PW), '-H', url], { stdin: ldif });
  if (r.code !== 0) throw new Error(`ldapmodify failed: ${r.stderr}`);
}

async function contextCsn(url: string): Promise<string> {
  const r = await runTool('ldapsearch', [...bindArgs(ROOT_DN, ROOT_PW), '-H', url, '-LLL', '-s', 'base', '-b', SUFFIX, 'contextCSN']);
  return parseLdifEntries(r.stdout)[0]?.attrs.get('contextcsn')?.values[0] ?? '';
}

/** The subtree, then one change: returns the contextCSN before the change (a valid cookie's). */
async function populate(url: string): Promise<string> {
  const people = PEOPLE.map((p) => `dn: uid=${p},${BASE}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: ${p}\ncn: ${p}\nsn: ${p}\n`);
  await modify(url, [`dn: ${BASE}\nchangetype: add\nobjectClass: organizationalUnit\nou: synctest\n`, ...people].join('\n'));
  const before = await contextCsn(url);
  // CSNs have microseconds: the change after must not share the one before's.
  await new Promise((r) => setTimeout(r, 5));
  await modify(url, `dn: uid=p1,${BASE}\nchangetype: modify\nreplace: sn\nsn: changed\n`);
  return before;
}

/** A CSN as another server (sid 001) would have made it. */
const otherSid = (csn: string): string => csn.replace(/#([0-9a-f]{6})#[0-9a-f]{3}#/i, '#$1#001#');
const future = (csn: string): string => `2099${csn.slice(4)}`;

describe('forged sync cookies, astldap against slapd with syncprov', () => {
  let h: Hardened;
  let slapd: { dir: string; launched: Launched };
  let slapdUrl: string;
  const before = { astldap: '', slapd: '' };

  beforeAll(async () => {
    h = await startHardened();
    slapd = await setUpSlapd(
      'astldap-syncprov-',
      (dir) =>
        [
          ...confPreamble(dir, []),
          'moduleload syncprov',
          ...mdbDatabase(dir, SUFFIX, ROOT_DN, ROOT_PW),
          'index entryCSN,entryUUID eq',
          'overlay syncprov',
          'syncprov-sessionlog 100',
          'access to * by * read',
          '',
        ].join('\n'),
      `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: example\ndc: example\n`,
    );
    slapdUrl = `ldap://127.0.0.1:${slapd.launched.port}`;
    before.astldap = await populate(h.url);
    before.slapd = await populate(slapdUrl);
  });
  afterAll(async () => {
    await h?.stop();
    await slapd?.launched.stop();
    if (slapd) removeDir(path.resolve(slapd.dir));
  });

  /** Both servers' outcome for a cookie made from each one's own CSN before the change. */
  async function both(cookie: (csn: string) => string): Promise<{ astldap: Outcome; slapd: Outcome }> {
    const [a, s] = await Promise.all([refreshWith(h.url, cookie(before.astldap)), refreshWith(slapdUrl, cookie(before.slapd))]);
    return { astldap: a.outcome, slapd: s.outcome };
  }

  it('a cookie of this server gets a delta on both (the baseline)', async () => {
    expect(await both((c) => `rid=001,csn=${c}`)).toEqual({ astldap: 'delta', slapd: 'delta' });
    // Another server's CSN beside this one's: that one is ignored, the delta stays.
    expect(await both((c) => `rid=001,csn=${c};${otherSid(c)}`)).toEqual({ astldap: 'delta', slapd: 'delta' });
  });

  it("a cookie naming only another server's sid gets a full refresh, never a delta", async () => {
    expect(await both((c) => `rid=001,csn=${otherSid(c)}`)).toEqual({ astldap: 'full', slapd: 'full' });
    expect(await both((c) => `rid=001,sid=001,csn=${otherSid(c)}`)).toEqual({ astldap: 'full', slapd: 'full' });
    // From the future, but another server's: still no state of this one, a full refresh.
    expect(await both((c) => `rid=001,csn=${future(otherSid(c))}`)).toEqual({ astldap: 'full', slapd: 'full' });
  });

  it('garbage gets a full refresh', async () => {
    for (const cookie of ['garbage', 'rid=001,csn=garbage', 'rid=001,csn=20261206223255Z#000000#000#000000']) {
      expect(await both(() => cookie)).toEqual({ astldap: 'full', slapd: 'full' });
    }
  });

  it('oversized cookies (100 KB of garbage, 3,000 CSNs of another server) get a full refresh', async () => {
    expect(await both(() => `rid=001,csn=${'x'.repeat(100_000)}`)).toEqual({ astldap: 'full', slapd: 'full' });
    expect(await both((c) => `rid=001,csn=${Array(3000).fill(otherSid(c)).join(';')}`)).toEqual({ astldap: 'full', slapd: 'full' });
  });

  it("a CSN of this server's from the future is refused, never answered with a delta", async () => {
    const r = await both((c) => `rid=001,csn=${future(c)}`);
    // syncprov answers unwillingToPerform ("consumer state is newer than provider!"); astldap keeps
    // e-syncRefreshRequired, RFC 4533's "refresh from scratch". Either way no delta is sent.
    expect(r).toEqual({ astldap: 'code 4096', slapd: 'code 53' });
  });
});
