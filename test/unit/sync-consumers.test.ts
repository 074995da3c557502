// The replication consumers' registry (src/directory/sync/consumers.ts), on a clock of its own:
// lag in commits and in seconds, a consumer that reconnects is the same one, ended searches
// stay listed as not connected, and the registry is bounded.

import { describe, expect, it } from 'vitest';
import { SyncConsumers } from '../../src/directory/sync/consumers.js';

describe('SyncConsumers', () => {
  it('counts the commits a consumer lacks and how long the oldest has waited', () => {
    let now = 1_000_000;
    const reg = new SyncConsumers(() => now);
    reg.committed(); // before the consumer came
    const before = reg.count;
    const c = reg.begin('cn=replica from 192.0.2.1 (rid 001)', 'refreshOnly');
    c.caughtUp(before);
    c.end();
    expect(reg.list()).toEqual([
      expect.objectContaining({ consumer: 'cn=replica from 192.0.2.1 (rid 001)', active: 0, lagChanges: 0, lagSeconds: 0 }),
    ]);
    now += 5_000;
    reg.committed();
    now += 3_000;
    reg.committed();
    now += 2_000;
    // Two commits behind; the older of them was made 5 s ago.
    expect(reg.list()[0]).toMatchObject({ lagChanges: 2, lagSeconds: 5 });
    // It polls again (the same identity, address and rid): the same consumer, up to date.
    const again = reg.begin('cn=replica from 192.0.2.1 (rid 001)', 'refreshOnly');
    again.caughtUp(reg.count);
    expect(reg.list()).toEqual([expect.objectContaining({ active: 1, lagChanges: 0, lagSeconds: 0 })]);
    again.end();
    again.end(); // twice is once
    expect(reg.list()[0]!.active).toBe(0);
  });

  it('a persisting consumer told each batch it was sent; a report past the commits is clamped', () => {
    const reg = new SyncConsumers();
    const base = reg.count;
    const c = reg.begin('anonymous from ::1', 'refreshAndPersist');
    reg.committed();
    reg.committed();
    c.caughtUp(base + 1);
    expect(reg.list()[0]!.lagChanges).toBe(1);
    c.caughtUp(base + 99);
    expect(reg.list()[0]!.lagChanges).toBe(0);
  });

  it('a consumer more than 4096 commits behind is shown at least as old as the oldest time kept', () => {
    let now = 0;
    const reg = new SyncConsumers(() => now);
    reg.begin('slow', 'refreshOnly').end();
    for (let i = 0; i < 5000; i++) {
      now += 1000;
      reg.committed();
    }
    // The 4096th-last commit was made 4095 s before the last one.
    expect(reg.list()[0]).toMatchObject({ lagChanges: 5000, lagSeconds: 4095 });
  });

  it('keeps at most 256 consumers: the oldest not connected goes first, connected ones stay', () => {
    const reg = new SyncConsumers();
    const live = reg.begin('live', 'refreshAndPersist');
    for (let i = 0; i < 300; i++) reg.begin(`gone ${i}`, 'refreshOnly').end();
    const names = reg.list().map((c) => c.consumer);
    expect(names.length).toBe(256);
    expect(names).toContain('live');
    expect(names).toContain('gone 299');
    expect(names).not.toContain('gone 0');
    live.end();
  });
});
