// kill -9 during a bulk ldapadd: after a restart on the same data dir every acknowledged entry
// is there, no entry is half-written, and the attribute indexes agree with the entries.

import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, canonicalize, normalizeDn, parseLdifEntries, runTool, toolEnv, type LdifEntry } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const BULK = `ou=bulk,${B}`;
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
const TOTAL = 3000;
/** Acknowledged adds to see before the kill: well inside the run, so adds are in flight. */
const KILL_AFTER = 900;
/** Operational attributes a stored entry must carry (written with it, in the same batch). */
const STORED_OPS = ['entryuuid', 'createtimestamp', 'modifytimestamp', 'creatorsname', 'modifiersname'];

const id = (i: number) => String(i).padStart(4, '0');
const dnOf = (i: number) => `uid=bulk${id(i)},${BULK}`;
function entryLines(i: number): string[] {
  const n = id(i);
  return [
    `dn: ${dnOf(i)}`,
    'objectClass: inetOrgPerson',
    `uid: bulk${n}`,
    `cn: Bulk User ${n}`,
    `cn: bulk-${n}`,
    `sn: User ${n}`,
    `givenName: Bulk`,
    `mail: bulk${n}@example.domain`,
    `description: bulk entry ${n}`,
    `employeeNumber: ${i}`,
    `telephoneNumber: +1 555 ${n}`,
  ];
}
const expected = new Map<string, ReturnType<typeof canonicalize>[number]>();
for (let i = 0; i < TOTAL; i++) {
  const [e] = canonicalize(parseLdifEntries(entryLines(i).join('\n')));
  expected.set(normalizeDn(dnOf(i)), e!);
}

/** Runs ldapadd -c -v (line-buffered), calling onAck with each DN the server acknowledged. */
function bulkAdd(url: string, file: string, onAck: (dn: string) => void): Promise<{ code: number | null; stderr: string }> {
  const args = ['-c', '-v', '-H', url, ...bindArgs(...ADMIN), '-f', file];
  const stdbuf = existsSync('/usr/bin/stdbuf');
  const child = spawn(stdbuf ? '/usr/bin/stdbuf' : 'ldapadd', stdbuf ? ['-oL', 'ldapadd', ...args] : args, {
    env: toolEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pending: string | undefined;
  let buf = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      // ldapadd prints `adding new entry "DN"` before sending and `modify complete` once the
      // server answered success; an error goes to stderr and no `modify complete` follows.
      const m = /^adding new entry "(.*)"$/.exec(line);
      if (m) pending = m[1];
      else if (line === 'modify complete' && pending !== undefined) {
        onAck(pending);
        pending = undefined;
      }
    }
  });
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('crash during a bulk ldapadd', () => {
  const dir = useTempDir('astldap-crash-');
  let server: SpawnedAstldap | undefined;
  const serve = () =>
    spawnAstldap(['serve', '--data', path.join(dir(), 'data'), '--listen', 'ldap://127.0.0.1:0', '--no-seed'], { cwd: dir() });
  const search = (args: string[]) =>
    runTool('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-H', server!.url, ...bindArgs(...ADMIN), ...args]);

  beforeAll(async () => {
    server = await serve();
  });
  afterAll(async () => {
    await server?.kill('SIGKILL');
  });

  const acked: string[] = [];
  let present: LdifEntry[] = [];

  it('loads the suffix and an OU, then is killed -9 in the middle of 3000 adds', async () => {
    const top = [
      `dn: ${B}`,
      'objectClass: dcObject',
      'objectClass: organization',
      'dc: example',
      'o: Example',
      '',
      `dn: ${BULK}`,
      'objectClass: organizationalUnit',
      'ou: bulk',
      '',
    ].join('\n');
    const r = await runTool('ldapadd', ['-H', server!.url, ...bindArgs(...ADMIN)], { stdin: top });
    expect(r.code, r.stderr).toBe(0);

    const file = path.join(dir(), 'bulk.ldif');
    writeFileSync(file, Array.from({ length: TOTAL }, (_, i) => entryLines(i).join('\n') + '\n').join('\n'));
    const victim = server!;
    let killed: Promise<unknown> | undefined;
    const result = await bulkAdd(victim.url, file, (dn) => {
      acked.push(dn);
      if (acked.length === KILL_AFTER) killed = victim.kill('SIGKILL');
    });
    expect(killed, `the bulk load finished before ${KILL_AFTER} acknowledgements: ${result.stderr.slice(0, 500)}`).toBeDefined();
    await killed;
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(acked.length, 'the server died before the load finished').toBeLessThan(TOTAL);
    server = await serve();
  }, 180_000);

  it('every acknowledged entry is present', async () => {
    const r = await search(['-b', BULK, '-s', 'one', '(objectClass=*)', '*', '+']);
    expect(r.code, r.stderr).toBe(0);
    present = parseLdifEntries(r.stdout);
    const have = new Set(present.map((e) => normalizeDn(e.dn)));
    const missing = acked.filter((dn) => !have.has(normalizeDn(dn)));
    expect(missing).toEqual([]);
  });

  it('no entry is half-written (all attributes and operational attributes)', () => {
    const broken: string[] = [];
    for (const e of present) {
      const want = expected.get(normalizeDn(e.dn));
      if (!want) {
        broken.push(`${e.dn}: not one of the generated entries`);
        continue;
      }
      const [got] = canonicalize([e], { ignore: [...e.attrs.keys()].filter((k) => !(k in want.attrs)) });
      if (JSON.stringify(got!.attrs) !== JSON.stringify(want.attrs)) broken.push(`${e.dn}: ${JSON.stringify(got!.attrs)}`);
      const lackingOps = STORED_OPS.filter((k) => attrValues(e, k).length === 0);
      if (lackingOps.length) broken.push(`${e.dn}: no ${lackingOps.join(', ')}`);
    }
    expect(broken).toEqual([]);
    // acknowledged plus at most the adds that were in flight when the process died
    expect(present.length).toBeGreaterThanOrEqual(acked.length);
    expect(present.length).toBeLessThanOrEqual(acked.length + 2);
  });

  it('an unindexed scan and the indexes count the same entries', async () => {
    const scan = await search(['-b', B, '(description=*)', '1.1']);
    const indexed = await search(['-b', B, '(objectClass=inetOrgPerson)', '1.1']);
    const byUid = await search(['-b', B, '(uid=bulk*)', '1.1']);
    const byMail = await search(['-b', B, '(mail=*@example.domain)', '1.1']);
    for (const r of [scan, indexed, byUid, byMail]) expect(r.code, r.stderr).toBe(0);
    const dns = (r: { stdout: string }) =>
      parseLdifEntries(r.stdout)
        .map((e) => normalizeDn(e.dn))
        .sort();
    const all = present.map((e) => normalizeDn(e.dn)).sort();
    expect(dns(scan)).toEqual(all);
    expect(dns(indexed)).toEqual(all);
    expect(dns(byUid)).toEqual(all);
    expect(dns(byMail)).toEqual(all);
  });

  it('indexed equality and substring searches find exactly each sampled entry', async () => {
    const presentIdx = new Set(present.map((e) => Number(attrValues(e, 'employeeNumber')[0])));
    const last = acked.length - 1;
    const sample = new Set<number>([0, 1, last - 1, last, last + 1, last + 2, last + 3, TOTAL - 1]);
    for (let i = 0; i < TOTAL; i += 97) sample.add(i);
    const wrong: string[] = [];
    for (const i of [...sample].filter((n) => n >= 0 && n < TOTAL)) {
      const n = id(i);
      const want = presentIdx.has(i) ? [normalizeDn(dnOf(i))] : [];
      for (const filter of [
        `(uid=bulk${n})`,
        `(cn=Bulk User ${n})`,
        `(cn=bulk-${n})`,
        `(mail=bulk${n}@example.domain)`,
        `(cn=*User ${n})`,
        `(uid=*k${n})`,
        `(sn=User *${n})`,
      ]) {
        const r = await search(['-b', B, filter, '1.1']);
        const got = parseLdifEntries(r.stdout).map((e) => normalizeDn(e.dn));
        if (r.code !== 0 || JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${filter}: code ${r.code}, ${JSON.stringify(got)}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it('the restarted server accepts the rest of the load', async () => {
    const rest = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => !present.some((e) => normalizeDn(e.dn) === normalizeDn(dnOf(i))));
    const file = path.join(dir(), 'rest.ldif');
    writeFileSync(file, rest.map((i) => entryLines(i).join('\n') + '\n').join('\n'));
    let n = 0;
    const result = await bulkAdd(server!.url, file, () => n++);
    expect(result.code, result.stderr.slice(0, 500)).toBe(0);
    expect(n).toBe(rest.length);
    const count = await search(['-b', BULK, '-s', 'one', '(description=*)', '1.1']);
    expect(parseLdifEntries(count.stdout)).toHaveLength(TOTAL);
  }, 180_000);
});
