// Password policy, differential: a private slapd with the ppolicy overlay loaded and astldap get
// the same policies (pwdPolicy entries, a default one and per-entry pwdPolicySubentry) and the
// same users, then the same sequence of binds and password changes runs through OpenLDAP's own
// tools with `-e ppolicy` (ldapwhoami, ldappasswd, ldapmodify, ldapsearch) against both: exit
// codes, result messages and the decoded Password Policy control must agree. Raw-socket cases
// compare the control's BER octets and the result texts exactly.

import { Attribute, Change, Client, Control } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerWriter } from '../../src/protocol/ber.js';
import { generalizedTime } from '../../src/directory/clock.js';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { RawLdap, type RawMessage } from '../helpers/raw-ldap.js';
import { confPreamble, mdbDatabase, setUpSlapd, slapdAvailable, type Launched } from '../helpers/slapd.js';
import { removeDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool, type LdapTool, type ToolResult } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const P = `ou=people,${B}`;
const POL = `ou=policies,${B}`;
const ADMIN_DN = `cn=admin,${B}`;
const PPOLICY_OID = '1.3.6.1.4.1.42.2.27.8.5.1';

const user = (uid: string) => `uid=${uid},${P}`;

function policy(cn: string, structural: 'device' | 'organizationalRole', lines: string[]): string {
  return [
    `dn: cn=${cn},${POL}`,
    `objectClass: ${structural}`,
    'objectClass: pwdPolicy',
    `cn: ${cn}`,
    'pwdAttribute: userPassword',
    ...lines,
    '',
  ].join('\n');
}

function person(uid: string, extra: string[] = []): string {
  return [
    `dn: ${user(uid)}`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${uid}`,
    `sn: ${uid}`,
    `userPassword: ${uid}password1`,
    ...extra,
    '',
  ].join('\n');
}

/** The fixture: policies as OpenLDAP's guide writes them, users governed by each. */
function fixture(): string {
  const now = generalizedTime();
  return [
    `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ${POL}\nobjectClass: organizationalUnit\nou: policies\n`,
    `dn: ${P}\nobjectClass: organizationalUnit\nou: people\n`,
    policy('default', 'device', [
      'pwdMinLength: 8',
      'pwdCheckQuality: 1',
      'pwdInHistory: 3',
      'pwdLockout: TRUE',
      'pwdMaxFailure: 3',
      'pwdMustChange: TRUE',
      'pwdAllowUserChange: TRUE',
      'pwdSafeModify: FALSE',
    ]),
    policy('expiring', 'organizationalRole', ['pwdMaxAge: 1000', 'pwdGraceAuthNLimit: 2']),
    policy('graceover', 'organizationalRole', ['pwdMaxAge: 1000', 'pwdGraceAuthNLimit: 2', 'pwdGraceExpiry: 3600']),
    policy('warning', 'organizationalRole', ['pwdMaxAge: 315360000', 'pwdExpireWarning: 630720000']),
    policy('safe', 'device', ['pwdSafeModify: TRUE', 'pwdCheckQuality: 1', 'pwdMinLength: 8']),
    policy('nouser', 'device', ['pwdAllowUserChange: FALSE']),
    policy('young', 'device', ['pwdMinAge: 86400']),
    policy('strict', 'device', ['pwdCheckQuality: 2', 'pwdMinLength: 4', 'pwdMaxLength: 20']),
    policy('timed', 'device', ['pwdLockout: TRUE', 'pwdMaxFailure: 3', 'pwdLockoutDuration: 60', 'pwdFailureCountInterval: 60']),
    person('alice'),
    person('bob'),
    person('hank'),
    person('carol', [`pwdPolicySubentry: cn=expiring,${POL}`, 'pwdChangedTime: 20000101000000Z']),
    person('dave', [`pwdPolicySubentry: cn=warning,${POL}`, `pwdChangedTime: ${now}`]),
    person('erin', [`pwdPolicySubentry: cn=safe,${POL}`]),
    person('frank', [`pwdPolicySubentry: cn=nouser,${POL}`]),
    person('gina', [`pwdPolicySubentry: cn=young,${POL}`, `pwdChangedTime: ${now}`]),
    person('ivan', [`pwdPolicySubentry: cn=strict,${POL}`]),
    // Locked long ago for 60 seconds: the lock is over. Locked by an administrator: for good.
    person('kate', [`pwdPolicySubentry: cn=timed,${POL}`, 'pwdAccountLockedTime: 20000101000000Z']),
    person('liam', [`pwdPolicySubentry: cn=timed,${POL}`, 'pwdAccountLockedTime: 000001010000Z']),
    // Two failures long ago, outside pwdFailureCountInterval: they no longer count.
    person('mona', [`pwdPolicySubentry: cn=timed,${POL}`, 'pwdFailureTime: 20000101000000Z', 'pwdFailureTime: 20000101000001Z']),
    person('paul', [`pwdPolicySubentry: cn=expiring,${POL}`, 'pwdChangedTime: 20000101000000Z']),
    person('rose', [`pwdPolicySubentry: cn=graceover,${POL}`, 'pwdChangedTime: 20000101000000Z']),
    person('sara', ['pwdStartTime: 29990101000000Z']),
    person('tom', ['pwdEndTime: 20000101000000Z']),
    person('writer'),
    person('nina'),
  ].join('\n');
}

function slapdConf(dir: string): string {
  return [
    ...confPreamble(dir, []),
    // 2.5's ppolicy builds its schema in: the module brings pwdPolicy and the pwd* attributes.
    'moduleload ppolicy',
    ...mdbDatabase(dir, B, ADMIN_DN, 'secret'),
    'overlay ppolicy',
    `ppolicy_default "cn=default,${POL}"`,
    // astldap's passwordPolicy.useLockout: the control says accountLocked when asked for.
    'ppolicy_use_lockout',
    // astldap hashes every cleartext userPassword it stores; slapd does with this.
    'ppolicy_hash_cleartext',
    `access to attrs=userPassword by self write by dn.exact="${user('writer')}" write by anonymous auth by * none`,
    `access to * by dn.exact="${user('writer')}" write by * read`,
    '',
  ].join('\n');
}

interface Server {
  url: string;
  port: number;
}

let slapd: { dir: string; launched: Launched } | undefined;
let ast: InProcessAstldap | undefined;
let S: Server;
let A: Server;

const available = slapdAvailable();

beforeAll(async () => {
  if (!available) return;
  const ldif = fixture();
  slapd = await setUpSlapd('astldap-ppolicy-', slapdConf, ldif);
  S = { url: `ldap://127.0.0.1:${slapd.launched.port}`, port: slapd.launched.port };
  ast = await startAstldap({
    config: {
      passwordPolicy: { default: `cn=default,${POL}`, useLockout: true },
      // The bind throttle is astldap's own (slapd has none): out of the way of this comparison.
      bindThrottle: { freeAttempts: 1000 },
      access: [
        {
          to: '*',
          attrs: ['userPassword'],
          by: [
            { who: 'self', level: 'write' },
            { who: `dn:${user('writer')}`, level: 'write' },
            { who: 'anonymous', level: 'auth' },
          ],
        },
        {
          to: '*',
          by: [
            { who: `dn:${user('writer')}`, level: 'write' },
            { who: 'anyone', level: 'read' },
          ],
        },
      ],
    },
  });
  // Loaded as slapadd loads it: with the operational state (pwdChangedTime) the fixture gives.
  await ast.server.loadDump(ldif);
  A = { url: ast.url, port: Number(new URL(ast.url).port) };
}, 60_000);

afterAll(async () => {
  await ast?.stop();
  if (slapd) {
    await slapd.launched.stop();
    removeDir(slapd.dir);
  }
});

/** A tool's output with the server's URL taken out, so both servers' runs compare. */
function normal(r: ToolResult, url: string): { code: number; stdout: string; stderr: string } {
  const clean = (s: string) =>
    s
      .split(url)
      .join('URL')
      .replace(/expires in \d+ seconds?/g, 'expires in N seconds');
  return { code: r.code, stdout: clean(r.stdout), stderr: clean(r.stderr) };
}

async function both(tool: LdapTool, args: string[], stdin?: string): Promise<{ slapd: ToolResult; ast: ToolResult }> {
  const run = (srv: Server) => runTool(tool, ['-H', srv.url, ...args], stdin === undefined ? {} : { stdin });
  const s = await run(S);
  const a = await run(A);
  return { slapd: s, ast: a };
}

/** Runs the tool on both servers (slapd first); the normalised outputs must be the same. */
async function same(tool: LdapTool, args: string[], stdin?: string): Promise<ToolResult> {
  const r = await both(tool, args, stdin);
  if (process.env.PP_DEBUG) console.log(tool, args.join(' '), JSON.stringify(normal(r.slapd, S.url)));
  expect(normal(r.ast, A.url), `astldap vs slapd: ${tool} ${args.join(' ')}`).toEqual(normal(r.slapd, S.url));
  return r.slapd;
}

const as = (uid: string, pw: string) => bindArgs(user(uid), pw);
const ADMIN = bindArgs(ADMIN_DN, 'secret');
const PP = ['-e', 'ppolicy'];
const replacePassword = (uid: string, pw: string) => `dn: ${user(uid)}\nchangetype: modify\nreplace: userPassword\nuserPassword: ${pw}\n`;

/** A raw simple bind with the Password Policy request control. */
async function rawBind(port: number, dn: string, password: string): Promise<RawMessage> {
  const c = await RawLdap.connect(port);
  try {
    return await c.request(
      (w) => {
        w.startSequence(0x60);
        w.writeInteger(3);
        w.writeString(dn);
        w.writeString(password, 0x80);
        w.endSequence();
      },
      [{ oid: PPOLICY_OID }],
    );
  } finally {
    c.close();
  }
}

/** A raw simple bind whose Password Policy control carries a value (the draft says: none). */
async function rawBindWithValue(port: number): Promise<{ first: ReturnType<typeof shown>; after: number }> {
  const c = await RawLdap.connect(port);
  try {
    const first = await c.request(
      (w) => {
        w.startSequence(0x60);
        w.writeInteger(3);
        w.writeString(user('alice'));
        w.writeString('wrong', 0x80);
        w.endSequence();
      },
      [{ oid: PPOLICY_OID, value: Buffer.from([0x04, 0x00]) }],
    );
    // The connection is kept: an anonymous bind on it still answers.
    return { first: shown(first), after: await c.bind('', '') };
  } finally {
    c.close();
  }
}

/** What a raw response shows: code, text, and the Password Policy control's octets in hex. */
function shown(m: RawMessage): { code?: number; message?: string; control?: string } {
  const c = m.controls.find((x) => x.oid === PPOLICY_OID);
  return { code: m.code, message: m.message, ...(c ? { control: c.value?.toString('hex') ?? '' } : {}) };
}

async function rawBindBoth(dn: string, password: string): Promise<ReturnType<typeof shown>> {
  const s = shown(await rawBind(S.port, dn, password));
  const a = shown(await rawBind(A.port, dn, password));
  expect(a, `raw bind ${dn}`).toEqual(s);
  return s;
}

describe.skipIf(!available)('password policy against slapd with ppolicy', () => {
  it('advertises the Password Policy control in the root DSE', async () => {
    for (const srv of [S, A]) {
      const r = await runTool('ldapsearch', ['-H', srv.url, '-x', '-LLL', '-b', '', '-s', 'base', 'supportedControl']);
      expect(attrValues(parseLdifEntries(r.stdout)[0]!, 'supportedControl')).toContain(PPOLICY_OID);
    }
  });

  it('publishes the ppolicy schema as slapd does (the same definitions in cn=Subschema)', async () => {
    const defs = async (srv: Server) => {
      const r = await runTool('ldapsearch', [
        '-H',
        srv.url,
        '-x',
        '-LLL',
        '-o',
        'ldif-wrap=no',
        '-b',
        'cn=Subschema',
        '-s',
        'base',
        'attributeTypes',
        'objectClasses',
      ]);
      const e = parseLdifEntries(r.stdout)[0]!;
      return [...attrValues(e, 'attributeTypes'), ...attrValues(e, 'objectClasses')]
        .filter((v) => /42\.2\.27\.8\.|4754\.[12]\.99/.test(v))
        .sort();
    };
    const s = await defs(S);
    expect(s.length).toBe(36);
    expect(await defs(A)).toEqual(s);
  });

  it('refuses a password shorter than pwdMinLength on Password Modify and on modify, with passwordTooShort', async () => {
    const r = await same('ldappasswd', [...PP, ...as('alice', 'alicepassword1'), '-s', 'short']);
    expect(r.stdout + r.stderr).toContain('error=6');
    const m = await same('ldapmodify', [...PP, ...as('alice', 'alicepassword1')], replacePassword('alice', 'short'));
    expect(m.code).toBe(19);
  });

  it("an ldapts client (the issue's report) is refused a short password the same way on both", async () => {
    const attempt = async (srv: Server) => {
      const client = new Client({ url: srv.url });
      try {
        await client.bind(user('alice'), 'alicepassword1');
        const change = new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: ['tiny'] }) });
        await client.modify(user('alice'), change, new Control(PPOLICY_OID));
        return { code: 0, message: '' };
      } catch (err) {
        const e = err as { code?: number; message?: string };
        return { code: e.code, message: e.message };
      } finally {
        await client.unbind();
      }
    };
    const s = await attempt(S);
    expect(s.code).toBe(19);
    expect(await attempt(A)).toEqual(s);
  });

  it('keeps the history: the current and the last pwdInHistory passwords are refused', async () => {
    expect((await same('ldappasswd', [...PP, ...as('alice', 'alicepassword1'), '-s', 'alicepassword2'])).code).toBe(0);
    const again = await same('ldappasswd', [...PP, ...as('alice', 'alicepassword2'), '-s', 'alicepassword2']);
    expect(again.stdout).toContain('Password is not being changed from existing value');
    const old = await same('ldappasswd', [...PP, ...as('alice', 'alicepassword2'), '-s', 'alicepassword1']);
    expect(old.stdout).toContain('Password is in history of old passwords');
    // A modify that deletes the old value (cleartext, against the stored hash) and adds a new one.
    const swap = `dn: ${user('alice')}\nchangetype: modify\ndelete: userPassword\nuserPassword: alicepassword2\n-\nadd: userPassword\nuserPassword: alicepassword3\n`;
    expect((await same('ldapmodify', [...PP, ...as('alice', 'alicepassword2')], swap)).code).toBe(0);
  });

  it('after an administrator reset, binds succeed with changeAfterReset and only the password may change', async () => {
    expect((await same('ldappasswd', [...PP, ...ADMIN, '-s', 'hankreset1', user('hank')])).code).toBe(0);
    const who = await same('ldapwhoami', [...PP, ...as('hank', 'hankreset1')]);
    expect(who.stderr).toContain('Password must be changed');
    const raw = await rawBindBoth(user('hank'), 'hankreset1');
    expect(raw.control).toBe('3003810102');
    const search = await same('ldapsearch', [...PP, ...as('hank', 'hankreset1'), '-LLL', '-b', P, '-s', 'base', '1.1']);
    expect(search.code).toBe(50);
    expect((await same('ldapcompare', [...PP, ...as('hank', 'hankreset1'), user('alice'), 'uid:alice'])).code).toBe(50);
    expect((await same('ldapdelete', [...PP, ...as('hank', 'hankreset1'), `uid=nobody,${P}`])).code).toBe(50);
    // The root DSE is not the naming context's: readable while restricted, as on slapd.
    expect((await same('ldapsearch', [...PP, ...as('hank', 'hankreset1'), '-LLL', '-b', '', '-s', 'base', '1.1'])).code).toBe(0);
    expect((await same('ldappasswd', [...PP, ...as('hank', 'hankreset1'), '-s', 'hankpassword2'])).code).toBe(0);
    expect((await same('ldapsearch', [...PP, ...as('hank', 'hankpassword2'), '-LLL', '-b', P, '-s', 'base', '1.1'])).code).toBe(0);
    // The administrator may set pwdReset itself: the next bind must change the password.
    const mark = `dn: ${user('hank')}\nchangetype: modify\nreplace: pwdReset\npwdReset: TRUE\n`;
    expect((await same('ldapmodify', ADMIN, mark)).code).toBe(0);
    expect((await same('ldapwhoami', [...PP, ...as('hank', 'hankpassword2')])).stderr).toContain('Password must be changed');
  });

  it('locks an account after pwdMaxFailure failures: invalidCredentials, accountLocked only in the control', async () => {
    for (let i = 0; i < 3; i++) expect((await same('ldapwhoami', [...PP, ...as('bob', 'wrong')])).code).toBe(49);
    const locked = await same('ldapwhoami', [...PP, ...as('bob', 'bobpassword1')]);
    expect(locked.stderr).toContain('Account locked');
    const plain = await same('ldapwhoami', as('bob', 'bobpassword1'));
    expect(plain.stderr).not.toContain('locked');
    const raw = await rawBindBoth(user('bob'), 'bobpassword1');
    expect(raw).toEqual({ code: 49, message: '', control: '3003810101' });
    // The administrator unlocks it by removing pwdAccountLockedTime.
    const unlock = `dn: ${user('bob')}\nchangetype: modify\ndelete: pwdAccountLockedTime\n`;
    expect((await same('ldapmodify', ADMIN, unlock)).code).toBe(0);
    expect((await same('ldapwhoami', [...PP, ...as('bob', 'bobpassword1')])).code).toBe(0);
  });

  it('an expired password gets pwdGraceAuthNLimit grace logins, then passwordExpired', async () => {
    expect(await rawBindBoth(user('carol'), 'carolpassword1')).toEqual({ code: 0, message: '', control: '3005a0038101' + '01' });
    const last = await same('ldapwhoami', [...PP, ...as('carol', 'carolpassword1')]);
    expect(last.code).toBe(0);
    expect(await rawBindBoth(user('carol'), 'carolpassword1')).toEqual({ code: 49, message: '', control: '3003810100' });
    expect((await same('ldapwhoami', [...PP, ...as('carol', 'carolpassword1')])).code).toBe(49);
  });

  it('no grace logins once pwdGraceExpiry has passed since the expiry', async () => {
    expect(await rawBindBoth(user('rose'), 'rosepassword1')).toEqual({ code: 49, message: '', control: '3003810100' });
  });

  it('a password outside pwdStartTime..pwdEndTime does not bind', async () => {
    const early = await rawBindBoth(user('sara'), 'sarapassword1');
    const late = await rawBindBoth(user('tom'), 'tompassword1');
    expect([early.code, late.code]).toEqual([49, 49]);
  });

  it('a grace login binds with its warning and is not restricted', async () => {
    const search = await same('ldapsearch', [...PP, ...as('paul', 'paulpassword1'), '-LLL', '-b', P, '-s', 'base', '1.1']);
    expect(search.code).toBe(0);
    expect(search.stderr).toContain('grace logins remain');
  });

  it('warns of expiry within pwdExpireWarning (timeBeforeExpiration)', async () => {
    const r = await both('ldapwhoami', [...PP, ...as('dave', 'davepassword1')]);
    expect(normal(r.ast, A.url)).toEqual(normal(r.slapd, S.url));
    const secs = (t: ToolResult) => Number(/expires in (\d+) seconds?/.exec(t.stderr)?.[1]);
    // The two binds ran moments apart: the seconds left agree but for that moment.
    expect(Math.abs(secs(r.ast) - secs(r.slapd))).toBeLessThan(600);
    expect(secs(r.slapd)).toBeGreaterThan(0);
  });

  it('pwdSafeModify wants the old password; pwdAllowUserChange FALSE refuses the user; pwdMinAge refuses a young one', async () => {
    const noOld = await same('ldappasswd', [...PP, ...as('erin', 'erinpassword1'), '-s', 'erinpassword2']);
    expect(noOld.stdout).toContain('error=4');
    expect((await same('ldapmodify', [...PP, ...as('erin', 'erinpassword1')], replacePassword('erin', 'erinpassword2'))).code).toBe(50);
    expect((await same('ldappasswd', [...PP, ...as('erin', 'erinpassword1'), '-a', 'erinpassword1', '-s', 'erinpassword2'])).code).toBe(0);
    expect((await same('ldappasswd', [...PP, ...as('frank', 'frankpassword1'), '-s', 'frankpassword2'])).stdout).toContain('error=3');
    expect((await same('ldappasswd', [...PP, ...as('gina', 'ginapassword1'), '-s', 'ginapassword2'])).stdout).toContain('error=7');
  });

  it('pwdCheckQuality 2 refuses a value it cannot check (a hash); the administrator is not held to quality', async () => {
    const hashed = await same('ldapmodify', [...PP, ...as('ivan', 'ivanpassword1')], replacePassword('ivan', '{SSHA}aGFzaGVkaGFzaGVk'));
    expect(hashed.code).toBe(19);
    const long = await same('ldappasswd', [...PP, ...as('ivan', 'ivanpassword1'), '-s', 'a-password-longer-than-twenty']);
    expect(long.stdout).toContain('error=9');
    const two = `dn: ${user('ivan')}\nchangetype: modify\nreplace: userPassword\nuserPassword: ivanpassword2\nuserPassword: ivanpassword3\n`;
    expect((await same('ldapmodify', [...PP, ...as('ivan', 'ivanpassword1')], two)).code).toBe(19);
    // A generated password (ldappasswd without -s) passes the policy; its value differs, not the output's form.
    const gen = await both('ldappasswd', [...PP, ...as('ivan', 'ivanpassword1')]);
    const form = (r: ToolResult) => ({ code: r.code, stdout: r.stdout.replace(/New password: \S+/, 'New password: X'), stderr: r.stderr });
    expect(form(gen.ast)).toEqual(form(gen.slapd));
    expect((await same('ldapmodify', [...PP, ...ADMIN], replacePassword('alice', 'x'))).code).toBe(0);
    const add = `dn: ${user('jack')}\nobjectClass: inetOrgPerson\nuid: jack\ncn: jack\nsn: jack\nuserPassword: x\n`;
    expect((await same('ldapadd', [...PP, ...ADMIN], add)).code).toBe(0);
    // Under a policy whose passwords age, an added password gets its pwdChangedTime (the state test compares).
    const aging = `dn: ${user('quinn')}\nobjectClass: inetOrgPerson\nuid: quinn\ncn: quinn\nsn: quinn\nuserPassword: quinnpassword1\npwdPolicySubentry: cn=warning,${POL}\n`;
    expect((await same('ldapadd', [...PP, ...ADMIN], aging)).code).toBe(0);
  });

  it("a lock ends after pwdLockoutDuration, an administrator's 000001010000Z lock does not; old failures expire", async () => {
    expect(await rawBindBoth(user('kate'), 'katepassword1')).toEqual({ code: 0, message: '', control: '3000' });
    expect(await rawBindBoth(user('liam'), 'liampassword1')).toEqual({ code: 49, message: '', control: '3003810101' });
    // An administrator locks an account for good with a modify, and unlocks it.
    const lock = `dn: ${user('kate')}\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n`;
    expect((await same('ldapmodify', ADMIN, lock)).code).toBe(0);
    expect(await rawBindBoth(user('kate'), 'katepassword1')).toEqual({ code: 49, message: '', control: '3003810101' });
    const unlock = `dn: ${user('kate')}\nchangetype: modify\ndelete: pwdAccountLockedTime\n`;
    expect((await same('ldapmodify', ADMIN, unlock)).code).toBe(0);
    // A plain successful bind under a policy: the control, empty; the administrator's: none.
    expect(await rawBindBoth(user('frank'), 'frankpassword1')).toEqual({ code: 0, message: '', control: '3000' });
    expect(await rawBindBoth(ADMIN_DN, 'secret')).toEqual({ code: 0, message: '' });
    // A wrong password: the control is sent, empty.
    expect(await rawBindBoth(user('mona'), 'wrong')).toEqual({ code: 49, message: '', control: '3000' });
    // Failures are recorded under a policy without pwdLockout too (the state test compares them).
    expect((await same('ldapwhoami', [...PP, ...as('gina', 'wrong')])).code).toBe(49);
    // The two old failures are outside pwdFailureCountInterval: one recent failure does not lock.
    expect((await same('ldapwhoami', [...PP, ...as('mona', 'monapassword1')])).code).toBe(0);
  });

  it("a password set by someone else is held to the policy; the administrator's modify is a reset that restricts the session", async () => {
    const add = `dn: ${user('olga')}\nobjectClass: inetOrgPerson\nuid: olga\ncn: olga\nsn: olga\nuserPassword: short\n`;
    const refused = await same('ldapadd', [...PP, ...as('writer', 'writerpassword1')], add);
    expect(refused.code).toBe(19);
    expect(refused.stdout).toContain('error=6');
    expect((await same('ldapadd', [...PP, ...as('writer', 'writerpassword1')], add.replace('short', 'olgapassword1'))).code).toBe(0);
    // A change that write access allows is no reset: slapd marks only a password administrator's.
    const byWriter = await same('ldapmodify', [...PP, ...as('writer', 'writerpassword1')], replacePassword('nina', 'ninawriter1'));
    expect(byWriter.code).toBe(0);
    expect((await same('ldapwhoami', [...PP, ...as('nina', 'ninawriter1')])).stderr).toBe('');
    expect((await same('ldapmodify', [...PP, ...ADMIN], replacePassword('nina', 'ninareset01'))).code).toBe(0);
    expect((await same('ldapwhoami', [...PP, ...as('nina', 'ninareset01')])).stderr).toContain('Password must be changed');
    // Restricted to password changes, but to any the ACLs let it write (as on slapd).
    expect((await same('ldappasswd', [...PP, ...ADMIN, '-s', 'writerreset1', user('writer')])).code).toBe(0);
    expect((await same('ldappasswd', [...PP, ...as('writer', 'writerreset1'), '-s', 'otherpassword1', user('olga')])).code).toBe(0);
    expect((await same('ldapmodify', [...PP, ...as('writer', 'writerreset1')], replacePassword('olga', 'otherpassword2'))).code).toBe(0);
    const desc = `dn: ${user('olga')}\nchangetype: modify\nreplace: description\ndescription: x\n`;
    expect((await same('ldapmodify', [...PP, ...as('writer', 'writerreset1')], desc)).code).toBe(50);
    expect((await same('ldappasswd', [...PP, ...as('writer', 'writerreset1'), '-s', 'writerpassword2'])).code).toBe(0);
    expect((await same('ldapmodify', [...PP, ...as('nina', 'ninareset01')], replacePassword('nina', 'ninapassword2'))).code).toBe(0);
    expect((await same('ldapwhoami', [...PP, ...as('nina', 'ninapassword2')])).stderr).toBe('');
  });

  it('keeps the same operational state on the entries', async () => {
    const state = async (srv: Server) => {
      const r = await runTool('ldapsearch', [
        '-H',
        srv.url,
        '-x',
        ...ADMIN,
        '-LLL',
        '-b',
        P,
        '-s',
        'one',
        '(objectClass=*)',
        'pwdChangedTime',
        'pwdAccountLockedTime',
        'pwdFailureTime',
        'pwdHistory',
        'pwdGraceUseTime',
        'pwdReset',
      ]);
      const out: Record<string, Record<string, number>> = {};
      for (const e of parseLdifEntries(r.stdout)) {
        const counts: Record<string, number> = {};
        for (const a of ['pwdChangedTime', 'pwdAccountLockedTime', 'pwdFailureTime', 'pwdHistory', 'pwdGraceUseTime', 'pwdReset']) {
          const n = attrValues(e, a).length;
          if (n) counts[a] = n;
        }
        out[e.dn.toLowerCase()] = counts;
      }
      return out;
    };
    expect(await state(A)).toEqual(await state(S));
  });

  it('a request control with a value is a protocolError, the connection kept, as on slapd', async () => {
    const s = await rawBindWithValue(S.port);
    expect(await rawBindWithValue(A.port)).toEqual(s);
    expect(s.first.code).toBe(2);
  });

  it("answers an unknown extended operation with slapd's text", async () => {
    const ext = async (port: number) => {
      const c = await RawLdap.connect(port);
      try {
        return shown(
          await c.request((w: BerWriter) => {
            w.startSequence(0x77);
            w.writeString('1.2.3.4.5.6', 0x80);
            w.endSequence();
          }),
        );
      } finally {
        c.close();
      }
    };
    const s = await ext(S.port);
    expect(await ext(A.port)).toEqual(s);
    expect(s).toEqual({ code: 2, message: 'unsupported extended operation' });
  });
});
