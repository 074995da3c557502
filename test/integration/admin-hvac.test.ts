// Python's hvac (Debian's python3-hvac) drives the admin API against the running server
// (hvac/drive.py): static roles on a PJSIP auth, a dynamic role and its lease, a library
// check-out/check-in, a token with a policy. This test checks hvac's results against the
// directory: the md5_cred Asterisk reads, the phone's entries, the borrowed password.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { phoneRole, startAdminServer } from '../helpers/vault.js';

const B = 'dc=example,dc=domain';
const TOKEN = 'hvac-token-0123456789';
const run = promisify(execFile);
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
// Debian's python3-hvac is in the system interpreter (a pyenv or venv python3 may lack it).
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let server: AstldapServer;
const stored = async (dn: string) => server.directory.store.get(server.directory.normalize(dn));

describe('hvac drives the Vault-compatible engine', () => {
  const tmp = useTempDir('astldap-hvac-');
  let out: any;

  beforeAll(async () => {
    server = await startAdminServer(tmp(), TOKEN, { seedLdif: readFileSync(path.join(repoRoot, 'data/asterisk/sample.ldif'), 'utf8') });
    const phone = phoneRole(B);
    const env = {
      ...process.env,
      VAULT_ADDR: server.adminUrl!,
      VAULT_TOKEN: TOKEN,
      SUFFIX: B,
      PHONE_CREATION: phone.creation,
      PHONE_DELETION: phone.deletion,
    };
    const r = await run(PYTHON, [path.join(repoRoot, 'test/integration/hvac/drive.py')], { env, timeout: 120_000 });
    out = JSON.parse(r.stdout);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('static role: the PJSIP auth md5_cred matches what hvac was handed, after a rotation too', async () => {
    expect(out.static_roles).toEqual(['pj1000']);
    expect(out.static.asterisk).toEqual({ type: 'pjsip_auth', username: '1000', realm: 'asterisk', auth_type: 'md5' });
    expect(out.static_rotated.last_password).toBe(out.static.password);
    const auth = await stored(`cn=1000,ou=auths,ou=pjsip,${B}`);
    expect(auth!.attrs['astpjsipauthmd5cred']).toEqual([md5(`1000:asterisk:${out.static_rotated.password}`)]);
  });

  it('dynamic role: creds made the phone; the revoked lease removed it, the other stays', async () => {
    expect(out.dynamic_roles).toEqual(['phone']);
    expect(out.dynamic.lease_duration).toBe(3600);
    expect(out.lease.id).toBe(out.dynamic.lease_id);
    expect(out.renewed).toBe(600);
    for (const dn of out.dynamic.distinguished_names) expect(await stored(dn)).toBeUndefined();
    const kept = await stored(`cn=${out.kept.username},ou=auths,ou=pjsip,${B}`);
    expect(kept!.attrs['astpjsipauthmd5cred']).toEqual([md5(`${out.kept.username}:asterisk:${out.kept.password}`)]);
  });

  it('library: the borrowed password worked until check-in', async () => {
    const name = out.checkout.service_account_name;
    expect(out.status_out[name].available).toBe(false);
    expect(out.checkin.check_ins).toEqual([name]);
    expect(out.status_in[name].available).toBe(true);
    const who = await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(`uid=${name},ou=people,${B}`, out.checkout.password)]);
    expect(who.code).toBe(49); // checked in: a new password
  });

  it('token policy: reads what it allows, nothing else; revoke-self ends it', () => {
    expect(out.reader_policies).toEqual(['pj-reader']);
    expect(out.reader_cred).toBe(out.static_rotated.password);
    expect(out.reader_config).toBe('forbidden');
    expect(out.after_revoke).toBe('forbidden');
  });
});
