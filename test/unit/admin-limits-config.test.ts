// adminApi.limits in the configuration: defaults, partial overrides, and refusals of bad values.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, packageRoot } from '../../src/config/config.js';

describe('adminApi.limits', () => {
  it('has defaults, the shipped config.yaml states them, and a partial setting keeps the rest', () => {
    const defaults = loadConfig({ env: {} }).adminApi.limits;
    expect(defaults).toEqual({
      maxConnections: 256,
      maxConnectionsPerAddress: 64,
      idleTimeout: 60,
      headTimeout: 10,
      bodyTimeout: 30,
      maxHeadSize: 65536,
      maxBody: 262144,
      maxLdifBody: 4194304,
    });
    expect(loadConfig({ file: path.join(packageRoot, 'config.yaml'), env: {} }).adminApi.limits).toEqual(defaults);
    const some = loadConfig({ env: {}, overrides: { adminApi: { limits: { maxBody: 1024, idleTimeout: 0 } } } }).adminApi.limits;
    expect(some).toEqual({ ...defaults, maxBody: 1024, idleTimeout: 0 });
  });

  it.each([
    [{ maxConnections: 0 }, /adminApi\.limits\.maxConnections must be a whole number >= 1/],
    [{ maxBody: -1 }, /adminApi\.limits\.maxBody must be a whole number >= 1/],
    [{ headTimeout: 1.5 }, /adminApi\.limits\.headTimeout must be a whole number >= 0/],
    [{ maxLdifBody: 'big' }, /adminApi\.limits\.maxLdifBody/],
  ])('refuses %j', (limits, message) => {
    const overrides = { adminApi: { limits } } as unknown as Parameters<typeof loadConfig>[0]['overrides'];
    expect(() => loadConfig({ env: {}, overrides })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, overrides })).toThrow(message);
  });
});
