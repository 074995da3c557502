// The configuration of LDAP transactions (RFC 5805): limits.maxTxnsPerConnection, maxTxnOps,
// maxTxnBytes and txnTimeout have defaults, the shipped config.yaml sets them, and a value
// that is not a whole number >= 0 is refused with its name.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, packageRoot } from '../../src/config/config.js';
import { useTempDir } from '../helpers/tmp.js';

describe('transaction limits in the configuration', () => {
  const tmp = useTempDir('astldap-txn-cfg-', 'each');

  it('defaults, and the shipped config.yaml agrees with them', () => {
    const d = loadConfig({ env: {} }).limits;
    expect([d.maxTxnsPerConnection, d.maxTxnOps, d.maxTxnBytes, d.txnTimeout]).toEqual([1, 100_000, 64 * 1024 * 1024, 600]);
    const shipped = loadConfig({ file: path.join(packageRoot, 'config.yaml'), env: {} }).limits;
    expect([shipped.maxTxnsPerConnection, shipped.maxTxnOps, shipped.maxTxnBytes, shipped.txnTimeout]).toEqual([
      d.maxTxnsPerConnection,
      d.maxTxnOps,
      d.maxTxnBytes,
      d.txnTimeout,
    ]);
  });

  it.each(['maxTxnsPerConnection', 'maxTxnOps', 'maxTxnBytes', 'txnTimeout'])('limits.%s must be a whole number >= 0', (key) => {
    const file = path.join(tmp(), 'c.yaml');
    writeFileSync(file, `limits: { ${key}: -1 }\n`);
    expect(() => loadConfig({ file, env: {} })).toThrow(new RegExp(`limits\\.${key} must be a whole number >= 0`));
    writeFileSync(file, `limits: { ${key}: 0 }\n`);
    expect(loadConfig({ file, env: {} }).limits[key as 'maxTxnOps']).toBe(0);
  });
});
