// TLS with OpenLDAP's tools: StartTLS (ldapsearch -ZZ) and ldaps:// against the development
// certificate the server makes for itself, trusted through LDAPTLS_CACERT; a server that
// requires TLS before simple binds; SASL EXTERNAL with a client certificate signed by the
// configured CA.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { freePort } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { runTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const ADMIN = ['-x', '-D', `cn=admin,${B}`, '-w', 'secret'];
/** LDAPNOINIT (set for every other tool run) would make libldap ignore the LDAPTLS_* variables. */
const tlsEnv = (vars: Record<string, string>): NodeJS.ProcessEnv => ({ LDAPNOINIT: undefined, LDAPRC: '/nonexistent', ...vars });

describe('TLS: StartTLS, ldaps and client certificates', () => {
  const dir = useTempDir('astldap-tls-');
  let server: SpawnedAstldap;
  let ldapsUrl: string;
  let caCert: string;
  let clientEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // A CA the server trusts for client certificates, and a client certificate signed by it.
    const ca = await generate([{ name: 'commonName', value: 'astldap test CA' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    } as Parameters<typeof generate>[1]);
    const client = await generate(
      [
        { name: 'organizationName', value: 'Example' },
        { name: 'commonName', value: 'asterisk' },
      ],
      { keySize: 2048, algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert } } as Parameters<typeof generate>[1],
    );
    writeFileSync(path.join(dir(), 'ca.pem'), ca.cert);
    writeFileSync(path.join(dir(), 'client.pem'), client.cert);
    writeFileSync(path.join(dir(), 'client.key'), client.private);
    writeFileSync(path.join(dir(), 'astldap.yaml'), 'tls:\n  ca: ca.pem\n');
    const port = await freePort();
    ldapsUrl = `ldaps://127.0.0.1:${port}`;
    server = await spawnAstldap(
      [
        'serve',
        '--config',
        path.join(dir(), 'astldap.yaml'),
        '--data',
        path.join(dir(), 'data'),
        '--listen',
        'ldap://127.0.0.1:0',
        '--listen',
        ldapsUrl,
      ],
      { cwd: dir() },
    );
    caCert = path.join(dir(), 'data', 'tls', 'cert.pem');
    clientEnv = tlsEnv({
      LDAPTLS_CACERT: caCert,
      LDAPTLS_CERT: path.join(dir(), 'client.pem'),
      LDAPTLS_KEY: path.join(dir(), 'client.key'),
    });
  });
  afterAll(async () => {
    await server?.kill('SIGTERM');
  });

  it('made a development certificate and says where', () => {
    expect(readFileSync(caCert, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(server.output()).toContain(`LDAPTLS_CACERT=${caCert}`);
  });

  it('ldapsearch -ZZ (StartTLS) and -H ldaps:// work with LDAPTLS_CACERT', async () => {
    const env = tlsEnv({ LDAPTLS_CACERT: caCert });
    const zz = await runTool('ldapsearch', ['-ZZ', '-H', server.url, ...ADMIN, '-LLL', '-b', B, '-s', 'base', 'dc'], { env });
    expect(zz.code, zz.stderr).toBe(0);
    expect(zz.stdout).toContain('dc: example');
    const ldaps = await runTool('ldapwhoami', ['-H', ldapsUrl, ...ADMIN], { env });
    expect(ldaps.code, ldaps.stderr).toBe(0);
    expect(ldaps.stdout.trim()).toBe(`dn:cn=admin,${B}`);
    const localhost = await runTool('ldapwhoami', ['-ZZ', '-H', server.url.replace('127.0.0.1', 'localhost'), '-x'], { env });
    expect(localhost.code, localhost.stderr).toBe(0);
  });

  it('an untrusted certificate fails the handshake, and the server goes on', async () => {
    const r = await runTool('ldapwhoami', ['-ZZ', '-H', server.url, '-x'], { env: tlsEnv({ LDAPTLS_CACERT: path.join(dir(), 'ca.pem') }) });
    expect(r.code).not.toBe(0);
    const ok = await runTool('ldapwhoami', ['-H', server.url, '-x']);
    expect(ok.code).toBe(0);
  });

  it('SASL EXTERNAL over TLS binds as the client certificate subject', async () => {
    const r = await runTool('ldapwhoami', ['-Q', '-Y', 'EXTERNAL', '-H', ldapsUrl], { env: clientEnv });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('dn:cn=asterisk,o=Example');
    const zz = await runTool('ldapwhoami', ['-Q', '-ZZ', '-Y', 'EXTERNAL', '-H', server.url], { env: clientEnv });
    expect(zz.code, zz.stderr).toBe(0);
    expect(zz.stdout.trim()).toBe('dn:cn=asterisk,o=Example');
    // Without a certificate, EXTERNAL over TLS is refused.
    const none = await runTool('ldapwhoami', ['-Q', '-Y', 'EXTERNAL', '-H', ldapsUrl], { env: tlsEnv({ LDAPTLS_CACERT: caCert }) });
    expect(none.code).not.toBe(0);
  });

  it('requireForBind refuses simple binds in the clear with confidentialityRequired', async () => {
    const cfg = path.join(dir(), 'strict.yaml');
    writeFileSync(cfg, 'tls:\n  requireForBind: true\n');
    const strict = await spawnAstldap(['serve', '--config', cfg, '--data', path.join(dir(), 'strict'), '--listen', 'ldap://127.0.0.1:0'], {
      cwd: dir(),
    });
    try {
      const clear = await runTool('ldapwhoami', ['-H', strict.url, ...ADMIN]);
      expect(clear.code).toBe(13);
      expect(clear.stderr).toMatch(/Confidentiality required/i);
      const env = tlsEnv({ LDAPTLS_CACERT: path.join(dir(), 'strict', 'tls', 'cert.pem') });
      const tls = await runTool('ldapwhoami', ['-ZZ', '-H', strict.url, ...ADMIN], { env });
      expect(tls.code, tls.stderr).toBe(0);
      const anon = await runTool('ldapwhoami', ['-H', strict.url, '-x']);
      expect(anon.code).toBe(0);
    } finally {
      await strict.kill('SIGTERM');
    }
  });
});
