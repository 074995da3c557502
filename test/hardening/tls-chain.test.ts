// TLS client certificates through an intermediate CA (issue 11, item 8): openssl makes root →
// intermediate → leaf; `ldapwhoami -Y EXTERNAL` over ldaps binds as the leaf's subject when the
// client presents the intermediate with its certificate, or when the server's CA file holds it;
// a leaf whose intermediate is unknown, or one under a CA the server does not trust, is refused.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { freePort } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { runTool } from '../helpers/tools.js';

/** LDAPNOINIT (set for every other tool run) would make libldap ignore the LDAPTLS_* variables. */
const tlsEnv = (vars: Record<string, string>): NodeJS.ProcessEnv => ({ LDAPNOINIT: undefined, LDAPRC: '/nonexistent', ...vars });

describe('TLS: client certificates signed by an intermediate CA', () => {
  const dir = useTempDir('astldap-chain-');
  const f = (name: string) => path.join(dir(), name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir(), stdio: ['ignore', 'pipe', 'pipe'] });
  const servers: SpawnedAstldap[] = [];
  let rootOnly: string; // ldaps URL of a server whose CA file is the root alone
  let withIntermediate: string; // ... whose CA file holds the root and the intermediate
  let serverCa: string;

  /** A CA (self-signed when issuer is undefined) or a client leaf, signed by issuer. */
  function makeCert(name: string, subject: string, kind: 'ca' | 'leaf', issuer?: string): void {
    writeFileSync(
      f(`${name}.ext`),
      kind === 'ca'
        ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
        : 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
    );
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    const sign = issuer ? ['-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial'] : ['-signkey', `${name}.key`];
    openssl('x509', '-req', '-in', `${name}.csr`, '-out', `${name}.pem`, '-days', '2', '-sha256', '-extfile', `${name}.ext`, ...sign);
  }

  async function serve(name: string, caFile: string): Promise<string> {
    writeFileSync(f(`${name}.yaml`), `tls:\n  ca: ${caFile}\n`);
    const url = `ldaps://127.0.0.1:${await freePort()}`;
    const s = await spawnAstldap(
      [
        'serve',
        '--config',
        f(`${name}.yaml`),
        '--data',
        f(`${name}-data`),
        '--listen',
        'ldap://127.0.0.1:0',
        '--listen',
        url,
        '--no-admin',
      ],
      { cwd: dir() },
    );
    servers.push(s);
    return url;
  }

  beforeAll(async () => {
    makeCert('root', '/CN=astldap test root', 'ca');
    makeCert('inter', '/CN=astldap test intermediate', 'ca', 'root');
    makeCert('leaf', '/O=Example/CN=chained', 'leaf', 'inter');
    makeCert('rogue-root', '/CN=untrusted root', 'ca');
    makeCert('rogue-inter', '/CN=astldap test intermediate', 'ca', 'rogue-root'); // same name, other key
    makeCert('rogue-leaf', '/O=Example/CN=rogue', 'leaf', 'rogue-inter');
    const pem = (n: string) => readFileSync(f(`${n}.pem`), 'utf8');
    writeFileSync(f('leaf-chain.pem'), pem('leaf') + pem('inter'));
    writeFileSync(f('rogue-chain.pem'), pem('rogue-leaf') + pem('rogue-inter'));
    writeFileSync(f('root-and-inter.pem'), pem('root') + pem('inter'));
    rootOnly = await serve('a', f('root.pem'));
    withIntermediate = await serve('b', f('root-and-inter.pem'));
    // Both servers' development certificates, for the clients to trust.
    serverCa = f('servers.pem');
    writeFileSync(serverCa, ['a', 'b'].map((n) => readFileSync(f(`${n}-data/tls/cert.pem`), 'utf8')).join(''));
  });
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGTERM');
  });

  const whoami = (url: string, cert: string, key: string) =>
    runTool('ldapwhoami', ['-Q', '-Y', 'EXTERNAL', '-H', url], {
      env: tlsEnv({ LDAPTLS_CACERT: serverCa, LDAPTLS_CERT: f(cert), LDAPTLS_KEY: f(key) }),
    });

  it('the client presents the intermediate: EXTERNAL binds as the leaf subject (ldaps and StartTLS)', async () => {
    const r = await whoami(rootOnly, 'leaf-chain.pem', 'leaf.key');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('dn:cn=chained,o=Example');
    const zz = await runTool('ldapwhoami', ['-Q', '-ZZ', '-Y', 'EXTERNAL', '-H', servers[0]!.url], {
      env: tlsEnv({ LDAPTLS_CACERT: serverCa, LDAPTLS_CERT: f('leaf-chain.pem'), LDAPTLS_KEY: f('leaf.key') }),
    });
    expect(zz.code, zz.stderr).toBe(0);
    expect(zz.stdout.trim()).toBe('dn:cn=chained,o=Example');
  });

  it('the server knows the intermediate from its CA file: the leaf alone is enough', async () => {
    const r = await whoami(withIntermediate, 'leaf.pem', 'leaf.key');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('dn:cn=chained,o=Example');
  });

  it('a leaf whose intermediate nobody presents is refused', async () => {
    const r = await whoami(rootOnly, 'leaf.pem', 'leaf.key');
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/chained/);
  });

  it('a chain under an untrusted root (an intermediate of the same name) is refused', async () => {
    for (const url of [rootOnly, withIntermediate]) {
      const r = await whoami(url, 'rogue-chain.pem', 'rogue-leaf.key');
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toMatch(/rogue/);
    }
    // The server goes on serving.
    expect((await whoami(rootOnly, 'leaf-chain.pem', 'leaf.key')).code).toBe(0);
  });
});
