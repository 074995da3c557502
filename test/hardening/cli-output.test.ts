// Issue 25, section 0: every astldap command that writes to standard output writes all of it
// before it exits, into a pipe as into a file, and fails (non-zero, a message on stderr) when it
// cannot. On the tree before this test, `astldap export | (sleep 1; cat)` stopped at 64 KiB and
// exited 0 (the write was still queued when the CLI called process.exit). Each command here is
// run twice, its output once redirected to a file and once through a slow reader, and the two
// are compared byte for byte.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';

const CONFIG = path.join(repoRoot, 'config.yaml');
const B = 'dc=example,dc=domain';

interface Shell {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a bash script (pipefail set) with $AST = the CLI; resolves with its outcome. */
function bash(script: string, env: NodeJS.ProcessEnv = {}): Promise<Shell> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', `set -o pipefail\n${script}`],
      { env: { ...process.env, AST: `${process.execPath} ${CLI}`, ...env }, timeout: 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A dump of about 1.2 MB: a base, ou=people and 3,000 people with a long description. */
function bigLdif(): string {
  const parts = [
    `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n`,
    `dn: ou=people,${B}\nobjectClass: organizationalUnit\nou: people\n`,
  ];
  for (let i = 0; i < 3000; i++) {
    parts.push(
      `dn: uid=p${i},ou=people,${B}\nobjectClass: inetOrgPerson\nuid: p${i}\ncn: person ${i}\nsn: p${i}\n` +
        `description: ${'d'.repeat(200)}\n`,
    );
  }
  return parts.join('\n');
}

describe('commands write everything before they exit (issue 25, 0)', () => {
  const tmp = useTempDir('astldap-out-');
  let data: string;
  let dumpBytes: number;

  beforeAll(async () => {
    data = path.join(tmp(), 'data');
    const file = path.join(tmp(), 'big.ldif');
    writeFileSync(file, bigLdif());
    const imp = await bash(`$AST import "${file}" --config "${CONFIG}" --data "${data}" | (sleep 0.5; cat)`);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toBe('loaded 3002 records\n');
  });

  /** `cmd > file` and `cmd | slow reader > file`: both exit 0 and write the same bytes. */
  async function sameThroughPipe(cmd: string, env: NodeJS.ProcessEnv = {}): Promise<Buffer> {
    const direct = path.join(tmp(), 'direct.out');
    const piped = path.join(tmp(), 'piped.out');
    const a = await bash(`${cmd} > "${direct}"`, env);
    expect(a.code, a.stderr).toBe(0);
    const b = await bash(`${cmd} | (sleep 1; cat) > "${piped}"`, env);
    expect(b.code, b.stderr).toBe(0);
    const want = readFileSync(direct);
    const got = readFileSync(piped);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
    return want;
  }

  it('export (offline): a megabyte through a slow pipe, every byte, exit 0', async () => {
    const out = await sameThroughPipe(`$AST export --config "${CONFIG}" --data "${data}"`);
    dumpBytes = out.length;
    expect(dumpBytes).toBeGreaterThan(1_000_000);
    expect(out.toString().match(/^dn: /gm)?.length).toBe(3002);
  });

  it('export into a reader that goes away: non-zero exit and a message saying the output is incomplete', async () => {
    const r = await bash(`$AST export --config "${CONFIG}" --data "${data}" | head -c 1000 > /dev/null`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/EPIPE|incomplete/);
  });

  it('the import of a cut export is refused: an entryUUID that is not a UUID never came from an export', async () => {
    const full = path.join(tmp(), 'full.ldif');
    expect((await bash(`$AST export --config "${CONFIG}" --data "${data}" > "${full}"`)).code).toBe(0);
    const text = readFileSync(full, 'utf8');
    const at = text.indexOf('entryUUID: ', 400_000) + 'entryUUID: '.length + 4;
    const cut = path.join(tmp(), 'cut.ldif');
    writeFileSync(cut, text.slice(0, at) + '\n');
    const r = await bash(`$AST import "${cut}" --config "${CONFIG}" --data "${path.join(tmp(), 'cut-data')}"`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/entryUUID: value "[0-9a-f]{4}" is not a UUID/);
    expect(r.stderr).toContain('nothing was imported');
  });

  describe('against a running server', () => {
    let server: SpawnedAstldap;
    let env: NodeJS.ProcessEnv;
    const online = () => path.join(tmp(), 'online');

    beforeAll(async () => {
      expect((await bash(`cp -a "${data}" "${online()}"`)).code).toBe(0);
      server = await spawnAstldap([
        'serve',
        '--config',
        CONFIG,
        '--data',
        online(),
        '--listen',
        'ldap://127.0.0.1:0',
        '--admin-listen',
        'http://127.0.0.1:0',
      ]);
      const token = /astldap admin root token (?:written to|in) (\S+)/.exec(server.output())![1]!;
      const url = /astldap admin api on (\S+)/.exec(server.output())![1]!;
      env = { ASTLDAP_ROOT_TOKEN: readFileSync(token, 'utf8').trim(), VAULT_ADDR: url };
    });
    afterAll(async () => {
      if (server) expect(await server.kill('SIGTERM')).toBe(0);
    });

    it('export (online, through the admin API): the same megabyte', async () => {
      const out = await sameThroughPipe(`$AST export --config "${CONFIG}" --data "${online()}"`, env);
      expect(out.toString().match(/^dn: /gm)?.length).toBe(3002);
    });

    it('status, backup and the admin client commands', async () => {
      const status = await bash(`$AST status --config "${CONFIG}" --data "${online()}" | (sleep 1; cat)`, env);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^pid {8}\d+$/m);
      expect(status.stdout).toMatch(/^entries {4}3002$/m);
      const file = path.join(tmp(), 'backup.ldif');
      const backup = await bash(`$AST backup "${file}" --config "${CONFIG}" --data "${online()}" | (sleep 1; cat)`, env);
      expect(backup.code, backup.stderr).toBe(0);
      expect(backup.stdout).toBe(`wrote 3002 entries to ${file} (from the running server)\n`);
      const policy0 = 'length = 24\nrule "charset" {\n  charset = "abcdefghijklmnopqrstuvwxyz0123456789"\n}\n';
      const put = await fetch(`${env.VAULT_ADDR}/v1/sys/policies/password/piped`, {
        method: 'PUT',
        headers: { 'X-Vault-Token': env.ASTLDAP_ROOT_TOKEN!, 'Content-Type': 'application/json' },
        body: JSON.stringify({ policy: policy0 }),
      });
      expect(put.status).toBeLessThan(300);
      const list = await sameThroughPipe(`$AST policy list`, env);
      const first = list.toString().split('\n')[0]!;
      expect(first).toMatch(/\S/);
      const policy = await sameThroughPipe(`$AST policy get ${first}`, env);
      expect(policy.length).toBeGreaterThan(0);
      const generated = await bash(`$AST policy generate ${first} | (sleep 1; cat)`, env);
      expect(generated.code, generated.stderr).toBe(0);
      expect(generated.stdout).toMatch(/^[a-z0-9]{24}\n$/);
    });
  });

  it('hash, check and --help', async () => {
    // A salted hash differs each run: its form is compared, and the slow pipe still gets it all.
    const h = await bash(`$AST hash -s secret -h SSHA | (sleep 1; cat)`);
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/^\{SSHA\}[A-Za-z0-9+/=]{40}\n$/);
    const c = await sameThroughPipe(`$AST check --config "${CONFIG}"`);
    expect(c.length).toBeGreaterThan(0);
    const help = await sameThroughPipe(`$AST --help`);
    expect(help.toString()).toContain('usage: astldap <command>');
  });
});
