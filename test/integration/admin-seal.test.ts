// The admin module's secrets sealed at rest (issue 11, item 2): on a LevelDB data directory a
// strings-style scan of every file finds none of the passwords the test used (bind passwords,
// role passwords, last passwords); the key file is 0600 beside the db directory, not in it; a
// restart opens the secrets again; sys/rotate re-seals everything under a new key id and keeps
// only that key; a wrong key (key file or ASTLDAP_SEAL_KEY) stops the start with a clear message.

import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer, StartOptions } from '../../src/index.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { vaultClient, vaultRequest } from '../helpers/vault.js';

const B = 'dc=example,dc=domain';
const TOKEN = 'admin-seal-token-0123';
const BINDER = `uid=binder,ou=people,${B}`;
const BIND_PASS = 'Binder-Pass-' + randomBytes(6).toString('hex');
const CANARY = 'canary-cleartext-' + randomBytes(6).toString('hex');
const ALICE = `uid=alice,ou=people,${B}`;

/** Every file below dir, as bytes. */
function filesBelow(dir: string): Array<{ file: string; data: Buffer }> {
  const out: Array<{ file: string; data: Buffer }> = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesBelow(p));
    else out.push({ file: p, data: readFileSync(p) });
  }
  return out;
}

/** Like strings(1): where any of the secrets occurs in the files (as UTF-8 bytes). */
function secretsFound(dir: string, secrets: string[]): string[] {
  const hits: string[] = [];
  for (const { file, data } of filesBelow(dir)) for (const s of secrets) if (data.includes(Buffer.from(s))) hits.push(`${s} in ${file}`);
  return hits;
}

describe('sealed admin secrets on a LevelDB data directory', () => {
  const tmp = useTempDir('astldap-seal-');
  let server: AstldapServer | undefined;
  let dataDir: string;
  const used: string[] = [BIND_PASS];

  const start = async (extra: StartOptions['config'] = {}) => {
    const { startServer } = await import('../../src/index.js');
    return startServer({
      configFile: path.join(repoRoot, 'config.yaml'),
      memory: false,
      dataDir,
      listen: ['ldap://127.0.0.1:0'],
      config: {
        adminApi: { rootToken: TOKEN, tokenFile: path.join(dataDir, 'root-token'), ...extra },
        // the bind account may write passwords (the default rules leave that to the administrator)
        access: [
          {
            to: '*',
            by: [
              { who: 'admins', level: 'write' },
              { who: `dn:${BINDER}`, level: 'write' },
              { who: 'anyone', level: 'auth' },
            ],
          },
        ],
      },
      adminApi: 'http://127.0.0.1:0',
      logger: false,
    });
  };
  const call = (method: string, p: string, body?: unknown) => vaultRequest(server!.adminUrl!, method, p, TOKEN, body);

  beforeAll(async () => {
    dataDir = tmp();
    server = await start();
    const add = await runTool('ldapadd', ['-H', server.url, ...bindArgs(`cn=admin,${B}`, 'secret')], {
      stdin: `dn: ${BINDER}\nobjectClass: inetOrgPerson\nuid: binder\ncn: binder\nsn: binder\ndescription: ${CANARY}\nuserPassword: ${BIND_PASS}\n`,
    });
    expect(add.code, add.stderr).toBe(0);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('no bind, role or last password is in the database files; the scan does see cleartext', async () => {
    const vault = vaultClient(server!.adminUrl!, TOKEN);
    await vault.write('openldap/config', { binddn: BINDER, bindpass: BIND_PASS });
    await vault.write('openldap/static-role/alice', { dn: ALICE, rotation_period: '1h' });
    used.push((await vault.read('openldap/static-cred/alice')).data.password);
    await vault.write('openldap/rotate-role/alice', {});
    const cred = (await vault.read('openldap/static-cred/alice')).data;
    expect(cred.last_password).toBe(used[1]);
    used.push(cred.password);
    await vault.write('openldap/rotate-root', {});
    expect(await runTool('ldapwhoami', ['-H', server!.url, ...bindArgs(BINDER, BIND_PASS)]).then((r) => r.code)).toBe(49);
    await server!.close();
    server = undefined;

    const db = path.join(dataDir, 'db');
    expect(secretsFound(db, [CANARY])).toHaveLength(1); // the scan works: a cleartext description is found
    expect(secretsFound(db, used)).toEqual([]);
    const keyFile = path.join(dataDir, 'seal-key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(existsSync(path.join(db, 'seal-key'))).toBe(false);
  });

  it('after a restart the secrets open again', async () => {
    server = await start();
    const cred = (await call('GET', 'openldap/static-cred/alice')).json.data;
    expect(cred.password).toBe(used[2]);
    expect(cred.last_password).toBe(used[1]);
    expect(await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(ALICE, cred.password)]).then((r) => r.code)).toBe(0);
    // A backup (what `astldap backup` writes) hands out none of them either.
    const backup = await server.backupLdif();
    expect(backup).toContain(CANARY);
    expect(used.filter((s) => backup.includes(s))).toEqual([]);
  });

  it('sys/rotate re-seals every secret under a new key id and keeps only that key', async () => {
    const before = (await call('GET', 'sys/key-status')).json.data.key_id;
    const r = await call('POST', 'sys/rotate');
    expect(r.status).toBe(200);
    expect(r.json.data.key_id).not.toBe(before);
    expect(r.json.data.resealed).toBeGreaterThanOrEqual(2); // config and role
    const keyFile = JSON.parse(readFileSync(path.join(dataDir, 'seal-key'), 'utf8'));
    expect(Object.keys(keyFile.keys)).toEqual([r.json.data.key_id]);
    for await (const [, v] of server!.directory.store.scanMeta('rotation/')) {
      for (const m of v.matchAll(/sealed:v1:([0-9a-f]+):/g)) expect(m[1]).toBe(r.json.data.key_id);
    }
    expect((await call('GET', 'openldap/static-cred/alice')).json.data.password).toBe(used[2]);
    await server!.close();
    server = await start();
    expect((await call('GET', 'openldap/static-cred/alice')).json.data.password).toBe(used[2]);
    await server.close();
    server = undefined;
  });

  it('a record written unsealed (an older version) is sealed at the next start', async () => {
    server = await start();
    const legacy = {
      ...(await server.directory.store.getMeta('rotation/role/alice').then((v) => JSON.parse(v!))),
      name: 'legacy',
      password: 'legacy-pass-0042',
      last_password: '',
    };
    legacy.dn = `uid=bob,ou=people,${B}`;
    await server.directory.writer.transaction(async (tx) => tx.setMeta('rotation/role/legacy', JSON.stringify(legacy)));
    await server.close();
    server = await start();
    const raw = (await server.directory.store.getMeta('rotation/role/legacy'))!;
    expect(raw).not.toContain('legacy-pass-0042');
    expect(JSON.parse(raw).password).toMatch(/^sealed:v1:/);
    expect((await call('GET', 'openldap/static-cred/legacy')).json.data.password).toBe('legacy-pass-0042');
    await call('DELETE', 'openldap/static-role/legacy');
    await server.close();
    server = undefined;
  });

  it('a wrong key stops the start with a clear message (key file, environment)', async () => {
    await expect(start({ sealKeyFile: path.join(tmp(), 'other-key') })).rejects.toThrow(
      /sealed with seal key [0-9a-f]+, which key file .* does not hold.*wrong seal key/,
    );
    process.env.ASTLDAP_SEAL_KEY = randomBytes(32).toString('hex');
    try {
      await expect(start()).rejects.toThrow(/which ASTLDAP_SEAL_KEY does not hold .*wrong seal key/);
    } finally {
      delete process.env.ASTLDAP_SEAL_KEY;
    }
    server = await start(); // the right key still works
    expect((await call('GET', 'openldap/static-cred/alice')).status).toBe(200);
  });
});
