// Rotations of embedded entries go through the directory's write path, schema check included:
// a rotation whose result the schema refuses is a clean failure (the error recorded, the entry
// untouched), and an ordinary openldap-schema rotation still works. In-process server, admin API
// on port 0; the live schema gains a unicodePwd attribute type that no object class allows.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { vaultRequest, startAdminServer } from '../helpers/vault.js';

const B = 'dc=example,dc=domain';
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
const ALICE = `uid=alice,ou=people,${B}`;
const BOB = `uid=bob,ou=people,${B}`;
const TOKEN = 'rotation-schema-token-0123';
const UNICODE_PWD = "( 1.3.6.1.4.1.99999.1.1 NAME 'unicodePwd' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )";

let server: AstldapServer;
let base: string;
const call = (method: string, p: string, body?: unknown) => vaultRequest(base, method, p, TOKEN, body);
const whoami = async (dn: string, pw: string) => (await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(dn, pw)])).code;
const stored = async (dn: string) => (await server.directory.store.get(server.directory.normalize(dn)))!;

describe('rotation through the write path (schema check)', () => {
  const tmp = useTempDir('astldap-rotation-schema-');

  beforeAll(async () => {
    server = await startAdminServer(tmp(), TOKEN);
    base = server.adminUrl!;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('an openldap-schema rotation changes userPassword', async () => {
    expect((await call('POST', 'openldap/config', { binddn: ADMIN[0], bindpass: ADMIN[1], schema: 'openldap' })).status).toBe(204);
    const before = await stored(ALICE);
    expect((await call('POST', 'openldap/static-role/alice', { dn: ALICE, rotation_period: '1h' })).status).toBe(204);
    const c1 = (await call('GET', 'openldap/static-cred/alice')).json.data;
    expect(await whoami(ALICE, 'alice-password')).toBe(49);
    expect(await whoami(ALICE, c1.password)).toBe(0);
    const after = await stored(ALICE);
    expect(after.attrs['userpassword']![0]).toMatch(/^\{PBKDF2-SHA512\}/);
    expect(after.attrs['entrycsn']).not.toEqual(before.attrs['entrycsn']);
    expect(after.attrs['modifiersname']).toEqual([ADMIN[0]]);
    expect((await call('POST', 'openldap/rotate-role/alice')).status).toBe(204);
    const c2 = (await call('GET', 'openldap/static-cred/alice')).json.data;
    expect(c2.last_password).toBe(c1.password);
    expect(await whoami(ALICE, c2.password)).toBe(0);
  });

  it('a rotation the schema refuses fails cleanly and leaves the entry as it was', async () => {
    // schema "ad" needs unicodePwd defined; the live schema gets it (no object class allows it)
    expect((await call('POST', 'openldap/config', { schema: 'ad' })).status).toBe(400);
    const mod = await runTool('ldapmodify', ['-H', server.url, ...bindArgs(...ADMIN)], {
      stdin: `dn: cn=Subschema\nchangetype: modify\nadd: attributeTypes\nattributeTypes: ${UNICODE_PWD}\n`,
    });
    expect(mod.code, mod.stderr).toBe(0);
    expect((await call('POST', 'openldap/config', { schema: 'ad' })).status).toBe(204);

    const before = await stored(BOB);
    // role creation rotates at once: refused by the schema check, the role is not kept
    const create = await call('POST', 'openldap/static-role/bob', { dn: BOB, rotation_period: '1h' });
    expect(create.status).toBe(500);
    expect(create.json.errors[0]).toMatch(/^failed to rotate the password of the new role: attribute 'unicodePwd' not allowed/);
    expect((await call('GET', 'openldap/static-role/bob')).status).toBe(404);
    expect(await stored(BOB)).toEqual(before);
    expect(before.attrs['unicodepwd']).toBeUndefined();
    expect(await whoami(BOB, 'bob-password')).toBe(0);

    // a role that exists (no import rotation): the failed rotation is recorded on it
    expect((await call('POST', 'openldap/static-role/bob', { dn: BOB, rotation_period: '1h', skip_import_rotation: true })).status).toBe(
      204,
    );
    const rotate = await call('POST', 'openldap/rotate-role/bob');
    expect(rotate.status).toBe(500);
    expect(rotate.json.errors[0]).toMatch(/unable to finish rotating credentials.*attribute 'unicodePwd' not allowed/);
    const role = (await call('GET', 'openldap/static-role/bob')).json.data;
    expect(role).toMatchObject({ failures: 1, last_vault_rotation: null });
    expect(role.last_error).toMatch(/attribute 'unicodePwd' not allowed/);
    expect((await call('GET', 'openldap/static-cred/bob')).json.data.password).toBe('');
    const after = await stored(BOB);
    expect(after).toEqual(before);
    expect(after.attrs['unicodepwd']).toBeUndefined();
    expect(after.attrs['userpassword']).toEqual(before.attrs['userpassword']);
    expect(after.attrs['entrycsn']).toEqual(before.attrs['entrycsn']);
    expect(await whoami(BOB, 'bob-password')).toBe(0);
    expect((await call('DELETE', 'openldap/static-role/bob')).status).toBe(204);
  });
});
