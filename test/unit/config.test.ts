import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, packageRoot } from '../../src/config/config.js';
import { useTempDir } from '../helpers/tmp.js';

describe('config', () => {
  const tmp = useTempDir('astldap-cfg-', 'each');

  it('has the embedded defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.suffix).toBe('dc=example,dc=domain');
    expect(c.admin.dn).toBe('cn=admin,dc=example,dc=domain');
    expect(c.listen).toEqual(['ldap://127.0.0.1:1389', 'ldaps://127.0.0.1:1636', `ldapi://${encodeURIComponent(c.ldapi.path)}`]);
    expect(c.ldapi.path).toBe(path.join(c.dataDir, 'ldapi'));
    expect(c.dbPath).toBe(path.join(packageRoot, 'data', 'db'));
  });

  it('reads the shipped config.yaml, and the environment overrides the admin password', () => {
    const c = loadConfig({ file: path.join(packageRoot, 'config.yaml'), env: { ASTLDAP_ADMIN_PASSWORD: 'from-env' } });
    expect(c.admin.password).toBe('from-env');
    expect(c.store.indexes['AstExtension']).toEqual(['eq', 'sub']);
    expect(c.schema.dir).toBe(path.join(packageRoot, 'schema'));
  });

  it('resolves paths against the config file and lets overrides win', () => {
    const dir = tmp();
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, 'dataDir: here\nlisten: [ldap://127.0.0.1:0]\nlimits: { sizeLimit: 7 }\n');
    const c = loadConfig({ file, env: {}, overrides: { listen: ['ldap://127.0.0.1:5'] } });
    expect(c.dataDir).toBe(path.join(dir, 'here'));
    expect(c.dbPath).toBe(path.join(dir, 'here', 'db'));
    expect(c.listen).toEqual(['ldap://127.0.0.1:5']);
    expect(c.limits.sizeLimit).toBe(7);
    expect(c.limits.timeLimit).toBe(3600);
  });

  it('rejects invalid settings with a clear message', () => {
    const dir = tmp();
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, 'limits: { sizeLimit: -1 }\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, overrides: { listen: ['http://x'] } })).toThrow(/unsupported URL/);
  });

  it('has hardening defaults that config.yaml repeats, and checks them', () => {
    const built = loadConfig({ env: {} });
    const shipped = loadConfig({ file: path.join(packageRoot, 'config.yaml'), env: {} });
    for (const c of [built, shipped]) {
      expect(c.limits).toMatchObject({ pduTimeout: 30, anonymousIdleTimeout: 120, writeTimeout: 60, idleTimeout: 0 });
      expect(c.limits).toMatchObject({ maxConnections: 4096, maxConnectionsPerAddress: 512, reservedConnections: 256 });
      expect(c.limits.maxConsumerBacklog).toBe(4 * 1024 * 1024);
      expect(c.limits.filter).toEqual({ terms: 512, depth: 16, bytes: 65536 });
      expect(c.limits.adminFilter).toEqual({ terms: 50000, depth: 64, bytes: 4194304 });
      expect(c.bindThrottle).toEqual({
        freeAttempts: 3,
        delayMs: 100,
        maxDelayMs: 5000,
        sharedMaxDelayMs: 1000,
        forgetSeconds: 900,
        tableSize: 100000,
      });
    }
    // A partial override keeps the other keys of a nested setting.
    expect(loadConfig({ env: {}, overrides: { limits: { filter: { terms: 9 } } } }).limits.filter).toEqual({
      terms: 9,
      depth: 16,
      bytes: 65536,
    });
    expect(() => loadConfig({ env: {}, overrides: { limits: { maxConsumerBacklog: -1 } } })).toThrow(/maxConsumerBacklog/);
    expect(() => loadConfig({ env: {}, overrides: { limits: { maxConnections: 10, reservedConnections: 10 } } })).toThrow(
      /reservedConnections/,
    );
    expect(() => loadConfig({ env: {}, overrides: { limits: { filter: { terms: 0 } } } })).toThrow(/limits.filter.terms/);
    expect(() => loadConfig({ env: {}, overrides: { bindThrottle: { tableSize: 2 } } })).toThrow(/bindThrottle.tableSize/);
    expect(() => loadConfig({ env: {}, overrides: { limits: { pduTimeout: 1.5 } } })).toThrow(/limits.pduTimeout/);
  });
});
