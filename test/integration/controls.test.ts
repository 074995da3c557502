// Request controls against the real server with OpenLDAP's tools and the ldapts client: Simple
// Paged Results (RFC 2696), server-side sorting (RFC 2891), assertion (RFC 4528) and
// pre-/post-read (RFC 4527).

import { Client, Control, UnwillingToPerformError, type BerWriter } from 'ldapts';

/** A paged-results request control with a chosen cookie (ldapts only sends its own cookies). */
class RawPagedControl extends Control {
  constructor(
    private readonly size: number,
    private readonly cookie: Buffer,
  ) {
    super('1.2.840.113556.1.4.319');
  }
  protected override writeControl(writer: BerWriter): void {
    const w = new (writer.constructor as new () => BerWriter)();
    w.startSequence();
    w.writeInt(this.size);
    w.writeBuffer(this.cookie, 0x04);
    w.endSequence();
    writer.writeBuffer(w.buffer, 0x04);
  }
}
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { attrValues, bindArgs, parseLdifEntries, runTool, type LdapTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const P = `ou=people,${B}`;
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
const N = 250;

/** Entries of ldapsearch output with comments and result records (non -LLL output). */
const entriesOf = (stdout: string) =>
  parseLdifEntries(
    stdout
      .split(/\n\n+/)
      .filter((block) => /^dn:/m.test(block) && !/^(search|result):/m.test(block))
      .join('\n\n'),
  );

const pad = (n: number) => String(n).padStart(3, '0');

/** 250 people, created in a scrambled order; every tenth has no employeeNumber. */
function seed(): string {
  let s = `dn: ${B}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n`;
  s += `dn: ${P}\nobjectClass: organizationalUnit\nou: people\n\n`;
  for (let i = 0; i < N; i++) {
    const n = pad((i * 37) % N);
    s += `dn: uid=u${n},${P}\nobjectClass: inetOrgPerson\nuid: u${n}\ncn: User ${n}\nsn: S${(i * 7) % N}\n`;
    if (i % 10 !== 0) s += `employeeNumber: E${pad((i * 13) % N)}\n`;
    s += '\n';
  }
  return s;
}

describe('controls', () => {
  let ast: InProcessAstldap;
  const tool = (t: LdapTool, args: string[], stdin?: string) => runTool(t, ['-H', ast.url, ...bindArgs(...ADMIN), ...args], { stdin });
  const client = async (): Promise<Client> => {
    const c = new Client({ url: ast.url });
    await c.bind(ADMIN[0], ADMIN[1]);
    return c;
  };

  beforeAll(async () => {
    ast = await startAstldap({ seedLdif: seed() });
  });
  afterAll(async () => {
    await ast?.stop();
  });

  it('the root DSE lists the supported controls', async () => {
    const r = await tool('ldapsearch', ['-LLL', '-b', '', '-s', 'base', 'supportedControl']);
    expect(r.code, r.stderr).toBe(0);
    const oids = attrValues(parseLdifEntries(r.stdout)[0]!, 'supportedControl');
    for (const oid of [
      '2.16.840.1.113730.3.4.2',
      '1.2.840.113556.1.4.319',
      '1.2.840.113556.1.4.473',
      '1.3.6.1.1.12',
      '1.3.6.1.1.13.1',
      '1.3.6.1.1.13.2',
    ]) {
      expect(oids).toContain(oid);
    }
  });

  describe('paged results (RFC 2696)', () => {
    it('ldapsearch -E pr=10/noprompt returns every entry exactly once, in 25 pages', async () => {
      const r = await tool('ldapsearch', ['-o', 'ldif-wrap=no', '-E', 'pr=10/noprompt', '-b', P, '(objectClass=inetOrgPerson)', '1.1']);
      expect(r.code, r.stderr).toBe(0);
      const dns = entriesOf(r.stdout).map((e) => e.dn);
      expect(dns).toHaveLength(N);
      expect(new Set(dns).size).toBe(N);
      const cookies = [...r.stdout.matchAll(/^#? ?pagedresults: cookie=(\S*)$/gm)].map((m) => m[1]);
      expect(cookies).toHaveLength(N / 10);
      expect(cookies.at(-1)).toBe('');
      expect(cookies.slice(0, -1).every((c) => c !== '')).toBe(true);
      expect(new Set(cookies).size).toBe(cookies.length); // a new cookie for every page
      expect(r.stdout.match(/^result: 0 Success$/gm)).toHaveLength(N / 10);
    });

    it('a page size larger than the result gives one page and an empty cookie', async () => {
      const r = await tool('ldapsearch', ['-E', 'pr=1000/noprompt', '-b', P, '(uid=u01*)', '1.1']);
      expect(r.code, r.stderr).toBe(0);
      expect(entriesOf(r.stdout)).toHaveLength(10);
      expect([...r.stdout.matchAll(/pagedresults: cookie=(\S*)$/gm)].map((m) => m[1])).toEqual(['']);
    });

    it('survives adds, deletes and modifies between pages: no entry twice, deleted ones skipped', async () => {
      const reader = await client();
      const writer = await client();
      try {
        const all = (await reader.search(P, { filter: '(objectClass=inetOrgPerson)', attributes: ['1.1'] })).searchEntries.map((e) => e.dn);
        expect(all).toHaveLength(N);
        const seen: string[] = [];
        let pages = 0;
        let laterVictim = '';
        for await (const page of reader.searchPaginated(P, {
          filter: '(objectClass=inetOrgPerson)',
          attributes: ['uid'],
          paged: { pageSize: 10 },
        })) {
          pages++;
          seen.push(...page.searchEntries.map((e) => e.dn));
          if (pages === 1) {
            const rest = all.filter((dn) => !seen.includes(dn));
            laterVictim = rest[rest.length - 1]!;
            await writer.del(seen[0]!); // already returned
            await writer.del(laterVictim); // not yet returned: must be skipped
            for (let i = 0; i < 5; i++) {
              await writer.add(`uid=late${i},${P}`, { objectClass: 'inetOrgPerson', uid: `late${i}`, cn: `Late ${i}`, sn: 'Late' });
            }
          }
          if (pages === 3) {
            // Re-adding an entry that was already returned must not return it again.
            await writer.add(seen[0]!, {
              objectClass: 'inetOrgPerson',
              uid: /uid=([^,]+)/.exec(seen[0]!)![1]!,
              cn: `User ${/uid=u(\d+)/.exec(seen[0]!)![1]!}`,
              sn: 'Again',
            });
          }
        }
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).not.toContain(laterVictim);
        expect(seen).toHaveLength(N - 1);
        expect(pages).toBe(N / 10);
      } finally {
        await reader.unbind();
        await writer.unbind();
      }
    });

    it('an unknown cookie is refused (unwillingToPerform)', async () => {
      const c = await client();
      try {
        const ctl = new RawPagedControl(10, Buffer.from('not-a-cookie'));
        await expect(c.search(P, { filter: '(objectClass=*)' }, ctl)).rejects.toBeInstanceOf(UnwillingToPerformError);
      } finally {
        await c.unbind();
      }
    });

    it('many concurrent paged searches on one connection stay bounded and correct', async () => {
      const c = await client();
      try {
        const gens = Array.from({ length: 20 }, () =>
          c.searchPaginated(P, { filter: '(uid=u1*)', attributes: ['1.1'], paged: { pageSize: 5 } })[Symbol.asyncIterator](),
        );
        // Interleave the first page of each; past the cap (16) the least recently used cursors are
        // evicted. Which four go depends on the order the first pages completed in (concurrent
        // searches on one connection), so count: 16 searches complete, 4 cookies are refused.
        const first = await Promise.all(gens.map((g) => g.next()));
        expect(first.every((r) => !r.done && r.value.searchEntries.length === 5)).toBe(true);
        let completed = 0;
        let refused = 0;
        for (const g of gens) {
          let n = 5;
          try {
            for (let r = await g.next(); !r.done; r = await g.next()) n += r.value.searchEntries.length;
            expect(n).toBe(100);
            completed++;
          } catch (e) {
            expect(e).toBeInstanceOf(UnwillingToPerformError);
            refused++;
          }
        }
        expect({ completed, refused }).toEqual({ completed: 16, refused: 4 });
      } finally {
        await c.unbind();
      }
    });
  });

  describe('server-side sorting (RFC 2891)', () => {
    const cns = (stdout: string) => entriesOf(stdout).map((e) => attrValues(e, 'cn')[0]!);

    it('-E sss=cn sorts ascending, -E sss=-cn descending', async () => {
      const up = await tool('ldapsearch', ['-o', 'ldif-wrap=no', '-E', 'sss=cn', '-b', P, '(uid=u0*)', 'cn']);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toMatch(/sortResult: \(0\) Success/);
      const asc = cns(up.stdout);
      expect(asc).toHaveLength(100);
      expect(asc).toEqual(Array.from({ length: 100 }, (_, i) => `User ${pad(i)}`));
      const down = await tool('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-E', 'sss=-cn', '-b', P, '(uid=u0*)', 'cn']);
      expect(down.code, down.stderr).toBe(0);
      expect(cns(down.stdout)).toEqual([...asc].reverse());
    });

    it('entries without the sort attribute come last', async () => {
      const r = await tool('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-E', 'sss=employeeNumber', '-b', P, '(uid=u*)', 'employeeNumber']);
      expect(r.code, r.stderr).toBe(0);
      const vals = parseLdifEntries(r.stdout).map((e) => attrValues(e, 'employeeNumber')[0]);
      const present = vals.filter((v) => v !== undefined) as string[];
      expect(vals.slice(0, present.length)).toEqual(present);
      expect(vals.slice(present.length).every((v) => v === undefined)).toBe(true);
      expect(present).toEqual([...present].sort());
    });

    it('sorts first, then pages (-E sss=cn -E pr=10/noprompt)', async () => {
      const r = await tool('ldapsearch', [
        '-o',
        'ldif-wrap=no',
        '-E',
        'sss=-cn',
        '-E',
        'pr=10/noprompt',
        '-b',
        P,
        '(objectClass=inetOrgPerson)',
        'cn',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const got = cns(r.stdout);
      expect(got.length).toBeGreaterThan(200);
      expect(new Set(got).size).toBe(got.length);
      expect(got).toEqual([...got].sort().reverse());
      expect(r.stdout.match(/sortResult: \(0\) Success/g)!.length).toBe(Math.ceil(got.length / 10));
    });

    it('an unknown sort attribute: unsorted with sortResult 16, or unavailableCriticalExtension when critical', async () => {
      const soft = await tool('ldapsearch', ['-E', 'sss=fooBar', '-b', P, '(uid=u00*)', '1.1']);
      expect(soft.code, soft.stderr).toBe(0);
      expect(entriesOf(soft.stdout)).toHaveLength(10);
      expect(soft.stdout).toMatch(/sortResult: \(16\) No such attribute fooBar/);
      const hard = await tool('ldapsearch', ['-E', '!sss=fooBar', '-b', P, '(uid=u00*)', '1.1']);
      expect(hard.code).toBe(12);
      expect(hard.stdout).toMatch(/sortResult: \(16\)/);
    });
  });

  describe('assertion (RFC 4528)', () => {
    const mod = (dn: string, value: string) => `dn: ${dn}\nchangetype: modify\nreplace: description\ndescription: ${value}\n-\n`;

    it('a failing assertion refuses the modify (122) and changes nothing', async () => {
      const r = await tool('ldapmodify', ['-e', 'assert=(cn=x)'], mod(`uid=u100,${P}`, 'nope'));
      expect(r.code).toBe(122);
      const check = await tool('ldapsearch', ['-LLL', '-b', `uid=u100,${P}`, '-s', 'base', 'description']);
      expect(attrValues(parseLdifEntries(check.stdout)[0]!, 'description')).toEqual([]);
    });

    it('a holding assertion lets the modify through', async () => {
      const r = await tool('ldapmodify', ['-e', 'assert=(cn=User 100)'], mod(`uid=u100,${P}`, 'yes'));
      expect(r.code, r.stderr).toBe(0);
      const check = await tool('ldapsearch', ['-LLL', '-b', `uid=u100,${P}`, '-s', 'base', 'description']);
      expect(attrValues(parseLdifEntries(check.stdout)[0]!, 'description')).toEqual(['yes']);
    });

    it('applies to delete, modrdn, compare and the search base', async () => {
      expect((await tool('ldapdelete', ['-e', 'assert=(sn=none)', `uid=u101,${P}`])).code).toBe(122);
      expect((await tool('ldapmodrdn', ['-e', 'assert=(sn=none)', `uid=u101,${P}`, 'uid=u101x'])).code).toBe(122);
      expect((await tool('ldapcompare', ['-e', 'assert=(sn=none)', `uid=u101,${P}`, 'uid:u101'])).code).toBe(122);
      expect((await tool('ldapcompare', ['-e', 'assert=(uid=u101)', `uid=u101,${P}`, 'uid:u101'])).code).toBe(6);
      expect((await tool('ldapsearch', ['-e', 'assert=(sn=none)', '-b', `uid=u101,${P}`, '-s', 'base'])).code).toBe(122);
      const ok = await tool('ldapsearch', ['-LLL', '-e', 'assert=(uid=u101)', '-b', `uid=u101,${P}`, '-s', 'base', '1.1']);
      expect(ok.code).toBe(0);
      expect(parseLdifEntries(ok.stdout)).toHaveLength(1);
    });
  });

  describe('pre-read and post-read (RFC 4527)', () => {
    const block = (stdout: string, which: 'preread' | 'postread') => {
      const m = new RegExp(`# ==> ${which}\\n([\\s\\S]*?)# <== ${which}`).exec(stdout);
      return m ? parseLdifEntries(m[1]!) : [];
    };

    it('ldapmodify -e preread=cn -e postread=cn prints the entry before and after', async () => {
      const ldif = `dn: uid=u102,${P}\nchangetype: modify\nreplace: cn\ncn: Renamed 102\n-\n`;
      const r = await tool('ldapmodify', ['-e', 'preread=cn', '-e', 'postread=cn,sn'], ldif);
      expect(r.code, r.stderr).toBe(0);
      const [pre] = block(r.stdout, 'preread');
      const [post] = block(r.stdout, 'postread');
      expect(pre?.dn).toBe(`uid=u102,${P}`);
      expect(attrValues(pre!, 'cn')).toEqual(['User 102']);
      expect(pre!.attrs.has('sn')).toBe(false);
      expect(attrValues(post!, 'cn')).toEqual(['Renamed 102']);
      expect(attrValues(post!, 'sn')).toHaveLength(1);
    });

    it('add gives a post-read, modrdn both, delete a pre-read', async () => {
      const add = await tool(
        'ldapadd',
        ['-e', 'postread=uid,cn,entryUUID'],
        `dn: uid=rb,${P}\nobjectClass: inetOrgPerson\nuid: rb\ncn: Read Back\nsn: RB\n`,
      );
      expect(add.code, add.stderr).toBe(0);
      const [added] = block(add.stdout, 'postread');
      expect(attrValues(added!, 'cn')).toEqual(['Read Back']);
      expect(attrValues(added!, 'entryUUID')[0]).toMatch(/^[0-9a-f-]{36}$/);

      const mv = await tool('ldapmodrdn', ['-r', '-e', 'preread=uid', '-e', 'postread=uid', `uid=rb,${P}`, 'uid=rb2']);
      expect(mv.code, mv.stderr).toBe(0);
      expect(block(mv.stdout, 'preread')[0]?.dn).toBe(`uid=rb,${P}`);
      expect(attrValues(block(mv.stdout, 'preread')[0]!, 'uid')).toEqual(['rb']);
      expect(block(mv.stdout, 'postread')[0]?.dn).toBe(`uid=rb2,${P}`);
      expect(attrValues(block(mv.stdout, 'postread')[0]!, 'uid')).toEqual(['rb2']);

      const del = await tool('ldapdelete', ['-e', 'preread', `uid=rb2,${P}`]);
      expect(del.code, del.stderr).toBe(0);
      const [gone] = block(del.stdout, 'preread');
      expect(attrValues(gone!, 'cn')).toEqual(['Read Back']);
      expect(attrValues(gone!, 'objectClass')).toEqual(['inetOrgPerson']);
    });

    it('a failed operation returns no read control', async () => {
      const r = await tool('ldapdelete', ['-e', 'preread', `uid=nobody,${P}`]);
      expect(r.code).toBe(32);
      expect(r.stdout).not.toMatch(/==> preread/);
    });
  });
});
