// The configuration's shape is declared once (src/config/schema.ts, zod): its defaults are what
// an empty file gives, every problem of a file is reported (not only the first), each with its
// dotted key, and `astldap check` prints each at its line.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig } from '../../src/config/config.js';
import { configSchema } from '../../src/config/schema.js';
import { CLI } from '../helpers/astldap.js';

describe('the configuration schema', () => {
  it('its defaults are an empty file parsed; the environment is not a setting of the file', () => {
    const d = defaultConfig();
    expect(d).toEqual({ ...configSchema.parse({}), environment: {} });
    expect(d.limits.sizeLimit).toBe(500);
    expect(d.adminApi.limits.maxLdifBody).toBe(4 * 1024 * 1024);
    expect(Object.keys(configSchema.shape)).not.toContain('environment');
    const cfg = loadConfig({ overrides: { environment: { sealKey: 'from-overrides' } } as never, env: {} });
    expect(cfg.environment).toEqual({});
  });

  it('reports every problem at once, each starting with its key', () => {
    let err: unknown;
    try {
      loadConfig({ env: {}, overrides: { memory: 'yes', limits: { idleTimeout: -1 }, console: { maxLifetime: 0 } } as never });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'memory must be true or false',
      'limits.idleTimeout must be a whole number >= 0',
      'console.maxLifetime must be a whole number >= 1 (seconds)',
    ]);
  });

  it('astldap check prints each problem at the line of its key', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'astldap-check-'));
    try {
      const file = path.join(dir, 'bad.yaml');
      writeFileSync(file, 'suffix: nodn\nlimits:\n  idleTimeout: -1\nadminApi:\n  listen: ftp://x\n', { mode: 0o600 });
      const r = spawnSync(process.execPath, [CLI, 'check', '--config', file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stdout).toContain('bad.yaml:1: suffix must be a DN, got nodn');
      expect(r.stdout).toContain('bad.yaml:3: limits.idleTimeout must be a whole number >= 0');
      expect(r.stdout).toContain('bad.yaml:5: adminApi.listen: use http://HOST:PORT or https://HOST:PORT, got ftp://x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
