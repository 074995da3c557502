// Issue 23's bug: the LDIF a dynamic role applies (admin/dynamic/ldif-apply.ts) had its own modify, whose
// `add` stored a value a second time and whose `delete` of a value that is not there passed.
// One modify semantic now (directory/modify.ts's): the same changes sent by OpenLDAP's ldapmodify
// and written in a dynamic role's creation LDIF give the same entries and the same errors. On
// main the role's duplicate add succeeded (description stored twice) and so did its delete of a
// missing value.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';
import { startAdminServer, vaultRequest } from '../helpers/vault.js';

const B = 'dc=example,dc=domain';
const P = `ou=people,${B}`;
const TOKEN = 'ldif-apply-token-0123';
const ADMIN = bindArgs(`cn=admin,${B}`, 'secret');
const ENTRIES = [
  `dn: cn=viaRole,${P}\nobjectClass: person\ncn: viaRole\nsn: s\ndescription: one\n`,
  `dn: cn=viaTool,${P}\nobjectClass: person\ncn: viaTool\nsn: s\ndescription: one\n`,
].join('\n');

describe('one modify semantic: ldapmodify and a dynamic role LDIF', () => {
  const tmp = useTempDir('astldap-ldif-apply-');
  let server: AstldapServer;
  const call = (method: string, p: string, body?: unknown) => vaultRequest(server.adminUrl!, method, p, TOKEN, body);
  const read = async (cn: string) => {
    const r = await runTool('ldapsearch', ['-H', server.url, ...ADMIN, '-LLL', '-b', `cn=${cn},${P}`, '-s', 'base', 'description']);
    expect(r.code, r.stderr).toBe(0);
    return parseLdifEntries(r.stdout)[0]!.attrs.get('description')?.values.sort() ?? [];
  };
  /** The change as ldapmodify sends it to cn=viaTool, and as a role's creation LDIF to cn=viaRole. */
  async function both(change: string): Promise<{ tool: { code: number; text: string }; role: { status: number; text: string } }> {
    const tool = await runTool('ldapmodify', ['-H', server.url, ...ADMIN], {
      stdin: `dn: cn=viaTool,${P}\nchangetype: modify\n${change}\n`,
    });
    const name = `r${Math.random().toString(36).slice(2, 8)}`;
    const creation = `dn: cn={{.Username}},${P}\nchangetype: add\nobjectClass: person\ncn: {{.Username}}\nsn: s\n\ndn: cn=viaRole,${P}\nchangetype: modify\n${change}\n`;
    const w = await call('POST', `ldap/role/${name}`, {
      creation_ldif: creation,
      deletion_ldif: `dn: cn={{.Username}},${P}\nchangetype: delete\n`,
      username_template: 'dyn{{random 6}}',
    });
    expect(w.status, JSON.stringify(w.json)).toBeLessThan(300);
    const c = await call('GET', `ldap/creds/${name}`);
    return { tool: { code: tool.code, text: tool.stdout + tool.stderr }, role: { status: c.status, text: JSON.stringify(c.json) } };
  }

  beforeAll(async () => {
    server = await startAdminServer(tmp(), TOKEN);
    const add = await runTool('ldapadd', ['-H', server.url, ...ADMIN], { stdin: ENTRIES });
    expect(add.code, add.stderr).toBe(0);
    const cfg = await call('POST', 'ldap/config', { binddn: `cn=admin,${B}`, bindpass: 'secret', userdn: P, userattr: 'cn' });
    expect(cfg.status).toBeLessThan(300);
  });
  afterAll(async () => server?.close());

  it('adding a value that is there: attributeOrValueExists on both, stored once', async () => {
    const r = await both('add: description\ndescription: one\n-');
    expect(r.tool.code).toBe(20);
    expect(r.role.status).toBe(500);
    expect(r.role.text).toContain('modify/add: description: value #0 already exists');
    expect(r.tool.text).toContain('modify/add: description: value #0 already exists');
    expect(await read('viaRole')).toEqual(['one']);
    expect(await read('viaTool')).toEqual(['one']);
  });

  it('deleting a value that is not there: noSuchAttribute on both, nothing changed', async () => {
    const r = await both('delete: description\ndescription: absent\n-');
    expect(r.tool.code).toBe(16);
    expect(r.role.status).toBe(500);
    expect(r.role.text).toContain('modify/delete: description: no such value');
    expect(r.tool.text).toContain('modify/delete: description: no such value');
    expect(await read('viaRole')).toEqual(['one']);
  });

  it('changes that apply: the same entries', async () => {
    const r = await both(
      'add: description\ndescription: two\n-\ndelete: description\ndescription: one\n-\nadd: description\ndescription: three\n-',
    );
    expect(r.tool.code).toBe(0);
    expect(r.role.status, r.role.text).toBe(200);
    expect(await read('viaRole')).toEqual(['three', 'two']);
    expect(await read('viaTool')).toEqual(['three', 'two']);
  });
});
