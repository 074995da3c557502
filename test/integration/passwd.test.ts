// Password Modify (RFC 3062) against the built server, driven by OpenLDAP's ldappasswd and
// checked with ldapwhoami binds: administrator resets, self-service changes, refusals, and
// generated passwords; the stored value is hashed.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
const ALICE = `uid=alice,ou=people,${B}`;
const BOB = `uid=bob,ou=people,${B}`;

describe('ldappasswd (Password Modify) against the built server', () => {
  const dir = useTempDir('astldap-passwd-');
  let server: SpawnedAstldap;
  const passwd = (bind: string[], args: string[]) => runTool('ldappasswd', ['-H', server.url, ...bind, ...args]);
  const whoami = (dn: string, pw: string) => runTool('ldapwhoami', ['-H', server.url, ...bindArgs(dn, pw)]);
  // ldappasswd exits 1 on any failed result and prints "Result: <text> (<code>)" (on stdout).
  const expectRefused = (r: { code: number; stderr: string }, code: number) => {
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`^Result: .*\\(${code}\\)$`, 'm'));
  };
  const storedPassword = async (dn: string) => {
    const r = await runTool('ldapsearch', [
      '-H',
      server.url,
      ...bindArgs(...ADMIN),
      '-LLL',
      '-o',
      'ldif-wrap=no',
      '-b',
      dn,
      '-s',
      'base',
      'userPassword',
    ]);
    expect(r.code, r.stderr).toBe(0);
    return attrValues(parseLdifEntries(r.stdout)[0]!, 'userPassword');
  };

  beforeAll(async () => {
    server = await spawnAstldap(['serve', '--data', path.join(dir(), 'data'), '--listen', 'ldap://127.0.0.1:0'], { cwd: dir() });
  });
  afterAll(async () => {
    await server?.kill('SIGTERM');
  });

  it('the root DSE advertises the Password Modify extension', async () => {
    const r = await runTool('ldapsearch', ['-H', server.url, '-x', '-LLL', '-b', '', '-s', 'base', 'supportedExtension']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('supportedExtension: 1.3.6.1.4.1.4203.1.11.1');
    expect(r.stdout).toContain('supportedExtension: 1.3.6.1.4.1.4203.1.11.3');
  });

  it("the administrator resets alice's password; the new one binds, the old one no longer", async () => {
    expect((await whoami(ALICE, 'alice-password')).code).toBe(0);
    const r = await passwd(bindArgs(...ADMIN), ['-s', 'newpw', ALICE]);
    expect(r.code, r.stderr).toBe(0);
    const ok = await whoami(ALICE, 'newpw');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(`dn:${ALICE}`);
    const old = await whoami(ALICE, 'alice-password');
    expect(old.code).toBe(49);
  });

  it('the stored userPassword is hashed with the configured scheme', async () => {
    const values = await storedPassword(ALICE);
    expect(values).toHaveLength(1);
    expect(values[0]).toMatch(/^\{PBKDF2-SHA512\}/);
    expect(values[0]).not.toContain('newpw');
  });

  it('alice changes her own password with the right old one', async () => {
    const r = await passwd(bindArgs(ALICE, 'newpw'), ['-a', 'newpw', '-s', 'newpw2']);
    expect(r.code, r.stderr).toBe(0);
    expect((await whoami(ALICE, 'newpw2')).code).toBe(0);
    expect((await whoami(ALICE, 'newpw')).code).toBe(49);
  });

  it('a wrong old password is unwillingToPerform, as slapd answers, and changes nothing', async () => {
    const r = await passwd(bindArgs(ALICE, 'newpw2'), ['-a', 'not-my-password', '-s', 'newpw3']);
    expectRefused(r, 53);
    expect(r.stdout + r.stderr).toMatch(/unwilling to verify old password/);
    expect((await whoami(ALICE, 'newpw2')).code).toBe(0);
    expect((await whoami(ALICE, 'newpw3')).code).toBe(49);
  });

  it("bob may not change alice's password", async () => {
    expectRefused(await passwd(bindArgs(BOB, 'bob-password'), ['-s', 'hijacked', ALICE]), 50);
    expect((await whoami(ALICE, 'newpw2')).code).toBe(0);
  });

  it('anonymous clients may not change passwords', async () => {
    const r = await passwd(bindArgs(), ['-s', 'hijacked', ALICE]);
    expectRefused(r, 8); // strongerAuthRequired, as slapd answers
    expect(r.stdout).toMatch(/only authenticated users may change passwords/);
  });

  it('an unknown user is noSuchObject; the administrator DN is refused', async () => {
    expectRefused(await passwd(bindArgs(...ADMIN), ['-s', 'x', `uid=nobody,ou=people,${B}`]), 32);
    expectRefused(await passwd(bindArgs(...ADMIN), ['-s', 'x']), 53);
    expect((await whoami(...ADMIN)).code).toBe(0);
  });

  it('without -s a password is generated, returned, and works', async () => {
    const r = await passwd(bindArgs(ALICE, 'newpw2'), ['-a', 'newpw2']);
    expect(r.code, r.stderr).toBe(0);
    const m = /^New password: (\S+)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const generated = m![1]!;
    expect(generated.length).toBeGreaterThanOrEqual(16);
    const ok = await whoami(ALICE, generated);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(`dn:${ALICE}`);
    expect((await whoami(ALICE, 'newpw2')).code).toBe(49);
    // The administrator resetting with no new password gets one generated too.
    const reset = await passwd(bindArgs(...ADMIN), [BOB]);
    expect(reset.code, reset.stderr).toBe(0);
    const bobPw = /^New password: (\S+)$/m.exec(reset.stdout)?.[1];
    expect(bobPw).toBeDefined();
    expect((await whoami(BOB, bobPw!)).code).toBe(0);
    expect((await storedPassword(BOB))[0]).toMatch(/^\{PBKDF2-SHA512\}/);
  });
});
