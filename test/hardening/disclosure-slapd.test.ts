// The enumeration matrix against slapd (issue 11, item 4): a private slapd with ACLs that mirror
// astldap's default rules (anonymous sees nothing; users read people and services; the Asterisk
// identity reads the realtime subtrees and nothing else), the packaged seed in both. Where slapd's
// `disclose` hides an entry (searches and compares of hidden entries under hidden parents), both
// servers answer alike: code and matched DN. Where slapd tells a hidden entry from an absent one
// (writes, and matchedDN under a parent the client sees) the table records slapd's answer and
// astldap's, which is the same for both entries.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAccess } from '../../src/config/config.js';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { asteriskSchemaFile, repoRoot, setUpSlapd, type Launched } from '../helpers/slapd.js';
import { removeDir } from '../helpers/tmp.js';
import { bindArgs, runTool, type LdapTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const AST = `cn=asterisk,ou=services,${B}`;
type Id = 'anon' | 'user' | 'asterisk';
/** An entry users may compare but not search: slapd's `compare` implies `disclose`. */
const DISCLOSED = `cn=1000,ou=sip,${B}`;
const CREDS: Record<Exclude<Id, 'anon'>, [string, string]> = {
  user: [`uid=bob,ou=people,${B}`, 'bob-password'],
  asterisk: [AST, 'asterisk'],
};

function conf(dir: string): string {
  const realtime = ['sip', 'iax', 'extensions', 'config', 'voicemail', 'queues', 'pjsip'].map((ou) => `ou=${ou},${B}`);
  return [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include /etc/ldap/schema/${s}.schema`),
    `include ${asteriskSchemaFile()}`,
    `pidfile ${dir}/slapd.pid`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'allow update_anon',
    'database mdb',
    'maxsize 104857600',
    `suffix "${B}"`,
    `rootdn "cn=admin,${B}"`,
    'rootpw secret',
    `directory ${dir}/db`,
    // astldap's defaults (config.ts defaultAccess), in slapd's words; binds need `auth` for anonymous.
    'access to attrs=userPassword by self auth by anonymous auth by * none',
    `access to dn.base="${DISCLOSED}" by users compare by * none`,
    ...realtime.map((r) => `access to dn.subtree="${r}" by dn.exact="${AST}" read by * none`),
    `access to dn.subtree="${B}" by self read by dn.exact="${AST}" none by users read by * none`,
    '',
  ].join('\n');
}

interface Answer {
  code: number;
  matched: string | null;
}

async function answer(url: string, id: Id, tool: LdapTool, args: string[], stdin?: string): Promise<Answer> {
  const r = await runTool(tool, ['-H', url, ...(id === 'anon' ? bindArgs() : bindArgs(...CREDS[id])), ...args], { stdin });
  const m = /matched ?DN:\s*(.*)/i.exec(r.stdout + r.stderr);
  return { code: r.code, matched: m ? m[1]!.trim() : null };
}

const search = (dn: string, scope: string) => ['ldapsearch' as const, ['-LLL', '-b', dn, '-s', scope, '1.1']] as const;
const compare = (dn: string) => ['ldapcompare' as const, [dn, 'objectClass:top']] as const;
const modify = (dn: string) =>
  ['ldapmodify' as const, [], `dn: ${dn}\nchangetype: modify\nreplace: description\ndescription: x\n`] as const;

describe('enumeration: astldap and slapd with the same access rules', () => {
  let slapd: { dir: string; launched: Launched } | undefined;
  let ast: InProcessAstldap;
  let slapdUrl: string;

  beforeAll(async () => {
    const seed = readFileSync(path.join(repoRoot, 'data/seed.ldif'), 'utf8');
    slapd = await setUpSlapd('astldap-disclose-', conf, seed);
    slapdUrl = `ldap://127.0.0.1:${slapd.launched.port}`;
    const rules = defaultAccess(B);
    const disclosed = { to: `dn:${DISCLOSED}`, by: [{ who: 'users', level: 'compare' as const }] };
    ast = await startAstldap({ packagedSeed: true, config: { access: [rules[0]!, disclosed, ...rules.slice(1)] } });
  });
  afterAll(async () => {
    await ast?.stop();
    await slapd?.launched.stop();
    if (slapd) removeDir(slapd.dir);
  });

  // [identity, a hidden entry, an absent sibling], no ancestor visible: slapd hides both alike.
  const hiddenPairs: Array<[Id, string, string]> = [
    ['anon', `uid=alice,ou=people,${B}`, `uid=nobody,ou=people,${B}`],
    ['anon', `cn=1000,ou=voicemail,${B}`, `cn=9999,ou=voicemail,${B}`],
    ['asterisk', `uid=alice,ou=people,${B}`, `uid=nobody,ou=people,${B}`],
  ];
  for (const [id, hidden, absent] of hiddenPairs) {
    it(`${id} on ${hidden.split(',')[0]} / ${absent.split(',')[0]}: searches and compares answer as slapd`, async () => {
      for (const dn of [hidden, absent]) {
        for (const [tool, args] of [search(dn, 'base'), search(dn, 'one'), search(dn, 'sub'), compare(dn)]) {
          const s = await answer(slapdUrl, id, tool, [...args]);
          const a = await answer(ast.url, id, tool, [...args]);
          expect(s, `slapd ${tool} ${dn}`).toEqual({ code: 32, matched: null });
          expect(a, `astldap ${tool} ${dn}`).toEqual(s);
        }
      }
    });
  }

  it('writes (modify, Password Modify): slapd tells the hidden entry (50) from the absent one (32); astldap does not', async () => {
    const [tool, args, stdin] = modify(`cn=1000,ou=voicemail,${B}`);
    const [, , stdinAbsent] = modify(`cn=9999,ou=voicemail,${B}`);
    expect(await answer(slapdUrl, 'user', tool, [...args], stdin)).toEqual({ code: 50, matched: null });
    expect(await answer(slapdUrl, 'user', tool, [...args], stdinAbsent)).toEqual({ code: 32, matched: `ou=voicemail,${B}` });
    expect(await answer(ast.url, 'user', tool, [...args], stdin)).toEqual({ code: 50, matched: null });
    expect(await answer(ast.url, 'user', tool, [...args], stdinAbsent)).toEqual({ code: 50, matched: null });
    // Password Modify (RFC 3062) on another's entry: slapd 50 / 32, astldap 50 / 50.
    const passwd = async (url: string, dn: string) => {
      const r = await runTool('ldappasswd', ['-H', url, ...bindArgs(...CREDS.user), '-s', 'new-password', dn]);
      return Number(/Result: .*\((\d+)\)/.exec(r.stdout + r.stderr)?.[1]);
    };
    expect([await passwd(slapdUrl, `cn=1000,ou=voicemail,${B}`), await passwd(slapdUrl, `cn=9999,ou=voicemail,${B}`)]).toEqual([50, 32]);
    expect([await passwd(ast.url, `cn=1000,ou=voicemail,${B}`), await passwd(ast.url, `cn=9999,ou=voicemail,${B}`)]).toEqual([50, 50]);
  });

  it('a hidden parent under a visible one: slapd stops at the hidden parent (no matchedDN), astldap goes on to the visible one', async () => {
    // slapd's answer for cn=9999 is '' only because ou=voicemail exists: for cn=x,ou=nothere it
    // gives the suffix (next test), so slapd reveals ou=voicemail; astldap gives the suffix to all.
    for (const dn of [`cn=1000,ou=voicemail,${B}`, `cn=9999,ou=voicemail,${B}`]) {
      for (const [tool, args] of [search(dn, 'base'), search(dn, 'sub'), compare(dn)]) {
        expect(await answer(slapdUrl, 'user', tool, [...args]), `slapd ${tool} ${dn}`).toEqual({ code: 32, matched: null });
        expect(await answer(ast.url, 'user', tool, [...args]), `astldap ${tool} ${dn}`).toEqual({ code: 32, matched: B });
      }
    }
    const below = search(`cn=x,ou=nothere,${B}`, 'base');
    expect(await answer(slapdUrl, 'user', below[0], [...below[1]])).toEqual({ code: 32, matched: B });
    expect(await answer(ast.url, 'user', below[0], [...below[1]])).toEqual({ code: 32, matched: B });
  });

  it('under a visible parent: slapd gives the hidden entry no matchedDN and the absent one the parent; astldap the parent to both', async () => {
    const hidden = search(`ou=voicemail,${B}`, 'base');
    const absent = search(`ou=nothere,${B}`, 'base');
    expect(await answer(slapdUrl, 'user', hidden[0], [...hidden[1]])).toEqual({ code: 32, matched: null });
    expect(await answer(slapdUrl, 'user', absent[0], [...absent[1]])).toEqual({ code: 32, matched: B });
    expect(await answer(ast.url, 'user', hidden[0], [...hidden[1]])).toEqual({ code: 32, matched: B });
    expect(await answer(ast.url, 'user', absent[0], [...absent[1]])).toEqual({ code: 32, matched: B });
  });

  it('an entry the user may compare but not search: insufficientAccessRights, as slapd (disclose without search)', async () => {
    const base = search(DISCLOSED, 'base');
    const child = search(`cn=x,${DISCLOSED}`, 'base');
    const cases: Array<[LdapTool, string[], Answer]> = [
      [base[0], [...base[1]], { code: 50, matched: null }],
      ['ldapcompare', [DISCLOSED, 'cn:1000'], { code: 6, matched: null }],
      [child[0], [...child[1]], { code: 32, matched: DISCLOSED }],
    ];
    for (const [tool, args, want] of cases) {
      expect(await answer(slapdUrl, 'user', tool, args), `slapd ${tool} ${args.join(' ')}`).toEqual(want);
      expect(await answer(ast.url, 'user', tool, args), `astldap ${tool} ${args.join(' ')}`).toEqual(want);
    }
  });
});
