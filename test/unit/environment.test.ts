// Environment variables are read when the configuration loads and nowhere else (issue 23): the
// seal key, the root token and Vault's VAULT_ADDR / VAULT_TOKEN arrive on Config.environment,
// and the root token is looked up once (admin/api/root-token.ts) for the server and the CLI.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientToken, findRootToken, resolveRootToken } from '../../src/admin/api/root-token.js';
import { loadConfig } from '../../src/config/config.js';
import { silentLogger } from '../../src/config/logger.js';
import { repoRoot } from '../helpers/slapd.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : [],
  );
}

describe('the environment', () => {
  it('is read by the configuration loader only', () => {
    const readers = sources(path.join(repoRoot, 'src'))
      .filter((f) =>
        /process\.env\b(?!\.)|process\.env\.[A-Z_]+|process\.env\[/.test(readFileSync(f, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')),
      )
      .map((f) => path.relative(repoRoot, f));
    expect(readers).toEqual(['src/config/config.ts']);
  });

  it('arrives on Config.environment (empty values are unset)', () => {
    const cfg = loadConfig({
      overrides: { memory: true, seed: null },
      env: { ASTLDAP_SEAL_KEY: 'k1,k2', ASTLDAP_ROOT_TOKEN: 'hvs.from-env', VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN: '' },
    });
    expect(cfg.environment).toEqual({ sealKey: 'k1,k2', rootToken: 'hvs.from-env', vaultAddr: 'http://127.0.0.1:1' });
    expect(cfg.adminApi.rootToken).toBe('hvs.from-env');
    expect(loadConfig({ overrides: { memory: true, seed: null }, env: {} }).environment).toEqual({});
  });
});

describe('the root token, looked up once', () => {
  it('the server and the CLI client find the same token; the client prefers ASTLDAP_ROOT_TOKEN, then VAULT_TOKEN', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'astldap-root-token-'));
    try {
      const tokenFile = path.join(dir, 'sub', 'root-token');
      const base = loadConfig({ overrides: { memory: true, seed: null, adminApi: { tokenFile } }, env: {} });
      expect(findRootToken(base.adminApi)).toBeUndefined();
      const made = resolveRootToken(base.adminApi, silentLogger);
      expect(made.created).toBe(true);
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      expect(resolveRootToken(base.adminApi, silentLogger)).toEqual({ token: made.token, file: tokenFile, created: false });
      expect(clientToken(base)).toBe(made.token);
      const vault = loadConfig({ overrides: { memory: true, seed: null, adminApi: { tokenFile } }, env: { VAULT_TOKEN: 'hvs.vault' } });
      expect(clientToken(vault)).toBe('hvs.vault');
      const both = loadConfig({
        overrides: { memory: true, seed: null, adminApi: { tokenFile } },
        env: { VAULT_TOKEN: 'hvs.vault', ASTLDAP_ROOT_TOKEN: 'hvs.root' },
      });
      expect(clientToken(both)).toBe('hvs.root');
      // A file with no usable token is replaced by the server and refused by the client.
      writeFileSync(tokenFile, 'short\n', { mode: 0o600 });
      expect(() => clientToken(base)).toThrow(/no admin token/);
      expect(resolveRootToken(base.adminApi, silentLogger).created).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
