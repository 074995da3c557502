// The open-files budget (src/server/descriptors.ts): LDAP's and the admin listener's connection
// caps fitted to RLIMIT_NOFILE beside the database's files.

import { describe, expect, it } from 'vitest';
import { fitConnectionCaps, openFilesLimit, type ConnectionCaps } from '../../src/server/descriptors.js';

const caps: ConnectionCaps = {
  ldap: { maxConnections: 4096, maxConnectionsPerAddress: 512, reservedConnections: 256 },
  admin: { maxConnections: 256, maxConnectionsPerAddress: 64 },
};

describe('open-files budget', () => {
  it('reads the soft limit from /proc/self/limits text, and says nothing when it cannot', () => {
    const text =
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n';
    expect(openFilesLimit(() => text)).toBe(1024);
    expect(openFilesLimit(() => text.replace('1024 ', 'unlimited '))).toBeUndefined();
    expect(
      openFilesLimit(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    // On this (Linux) machine it is a number.
    expect(openFilesLimit()).toBeGreaterThan(0);
  });

  it('keeps caps that fit', () => {
    // What is left (65536 - 64 - 1000 for files, - 4096 - 256 - 32 for the caps) holds refused sockets.
    expect(fitConnectionCaps(caps, 65536, false)).toEqual({ caps, spare: 65536 - 64 - 1000 - 4096 - 256 - 32 });
  });

  it('lowers caps that do not fit, the admin side to an eighth at most, and says what changed', () => {
    const { caps: out, lowered } = fitConnectionCaps(caps, 1024, false);
    // 1024 - 64 - 256 (a quarter for LevelDB) = 704; the admin API 88 (+32 refusal slack), LDAP the rest.
    expect(out.admin).toEqual({ maxConnections: 88, maxConnectionsPerAddress: 64 });
    expect(out.ldap).toEqual({ maxConnections: 584, maxConnectionsPerAddress: 512, reservedConnections: 146 });
    expect(out.ldap.maxConnections + out.admin!.maxConnections + 32).toBeLessThanOrEqual(1024 - 64 - 256);
    expect(lowered).toMatch(/limits\.maxConnections 4096 -> 584.*adminApi\.limits\.maxConnections 256 -> 88/);
    // Without the admin API, LDAP has it all; an unlimited LDAP cap becomes the budget.
    expect(fitConnectionCaps({ ldap: caps.ldap }, 1024, true).caps.ldap.maxConnections).toBe(960);
    expect(fitConnectionCaps({ ldap: { ...caps.ldap, maxConnections: 0 } }, 65536, true).caps.ldap.maxConnections).toBe(65536 - 64);
  });

  it('refuses to start when not even a small server fits', () => {
    expect(() => fitConnectionCaps(caps, 128, false)).toThrow(/open-files limit \(128\).*raise it/);
  });
});
