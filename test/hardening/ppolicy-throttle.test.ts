// The password policy's lockout and the bind throttle are one mechanism seen twice: a locked
// account's binds count as failures for the throttle even with the right password (the lock
// is one more reason to slow the client down, never a reason to forgive it), and the answer
// says nothing of the lock unless the Password Policy control was asked for.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BindThrottle } from '../../src/directory/bind-throttle.js';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { bindArgs, runTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const POL = `cn=default,ou=policies,${B}`;
const CAROL = `uid=carol,ou=people,${B}`;
const LDIF = [
  `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
  `dn: ou=policies,${B}\nobjectClass: organizationalUnit\nou: policies\n`,
  `dn: ${POL}\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\ncn: default\npwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 2\n`,
  `dn: ou=people,${B}\nobjectClass: organizationalUnit\nou: people\n`,
  `dn: ${CAROL}\nobjectClass: inetOrgPerson\nuid: carol\ncn: carol\nsn: carol\nuserPassword: carol-password\n`,
].join('\n');

let ast: InProcessAstldap;

beforeAll(async () => {
  ast = await startAstldap({
    seedLdif: LDIF,
    // No delays: the counts are what is checked, never how long anything took.
    config: { passwordPolicy: { default: POL, useLockout: true }, bindThrottle: { freeAttempts: 1000 } },
  });
});

afterAll(async () => {
  await ast?.stop();
});

const whoami = (pw: string, extra: string[] = []) => runTool('ldapwhoami', ['-H', ast.url, ...extra, ...bindArgs(CAROL, pw)]);

describe('lockout and the bind throttle', () => {
  it('a locked account stays counted by the throttle, even with the right password, until it is unlocked', async () => {
    const dir = ast.server.directory;
    const key = BindThrottle.keys(dir.normalize(CAROL), '127.0.0.1', true).own[0]!;
    expect((await whoami('wrong')).code).toBe(49);
    expect((await whoami('wrong')).code).toBe(49);
    expect(dir.throttle.failures(key)).toBe(2);
    // Locked now: the right password is refused, says nothing without the control, and counts.
    const plain = await whoami('carol-password');
    expect(plain).toMatchObject({ code: 49, stderr: 'ldap_bind: Invalid credentials (49)\n' });
    expect((await whoami('carol-password', ['-e', 'ppolicy'])).stderr).toContain('Account locked');
    expect(dir.throttle.failures(key)).toBe(4);
    const unlock = `dn: ${CAROL}\nchangetype: modify\ndelete: pwdAccountLockedTime\n`;
    expect((await runTool('ldapmodify', ['-H', ast.url, ...bindArgs(`cn=admin,${B}`, 'secret')], { stdin: unlock })).code).toBe(0);
    expect((await whoami('carol-password')).code).toBe(0);
    expect(dir.throttle.failures(key)).toBe(0);
  });
});
