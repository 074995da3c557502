// The README, as written: every command of its ```sh blocks runs, unchanged, against a server
// started as `npm start` starts it (dist/cli/main.js serve with the repository's config.yaml).
// Not run: the first block (npm install / npm start / npm test: the set-up this test stands in
// for). The commands use the fixed ports of config.yaml (1389, 1636, 8200) and paths relative to
// the clone (data/...), so they run in a scratch folder laid out like a clone (a copy of
// config.yaml; schema/ and the data/ example files linked; node_modules/.bin/astldap for npx),
// whose data/ is the server's data directory. Where unprivileged network namespaces exist
// (`unshare -rn`), all of it runs in a private one, so the fixed ports are always free and never
// collide with another run; elsewhere the test needs 1389, 1636 and 8200 free and says so.

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';

const README = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const PORTS = [1389, 1636, 8200];

/** The ```sh blocks of the README, in order. */
function shBlocks(): string[] {
  return [...README.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A folder laid out like a clone of the repository, with an empty data directory. */
function scratchClone(dir: string): void {
  copyFileSync(path.join(repoRoot, 'config.yaml'), path.join(dir, 'config.yaml'));
  symlinkSync(path.join(repoRoot, 'schema'), path.join(dir, 'schema'));
  mkdirSync(path.join(dir, 'data'), { mode: 0o700 });
  for (const f of ['seed.ldif', 'examples', 'asterisk']) symlinkSync(path.join(repoRoot, 'data', f), path.join(dir, 'data', f));
  mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'bin', 'astldap.mjs'), path.join(dir, 'node_modules', '.bin', 'astldap'));
}

/** Starts the server, waits for its last listener, runs the README's commands, stops it. */
function wrapper(commands: string, isolated: boolean): string {
  return [
    'set -u',
    isolated ? 'ip link set lo up' : '',
    `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} serve > server.log 2>&1 &`,
    'server=$!',
    // The server prints one line per listener, the ldapi one last; bounded wait, generous.
    'for i in $(seq 1 1200); do grep -q "astldap listening on ldapi" server.log && break; kill -0 $server || break; sleep 0.1; done',
    'grep -q "astldap listening on ldapi" server.log || { cat server.log; exit 90; }',
    'bash -euo pipefail -x ./readme.sh; status=$?',
    'kill -TERM $server; wait $server; echo "server exit $?"',
    'exit $status',
  ].join('\n');
}

describe('README', () => {
  const tmp = useTempDir('astldap-readme-');

  it('ships the files its commands use and says npx astldap', () => {
    expect(README).toContain('data/examples/entry.ldif');
    expect(readFileSync(path.join(repoRoot, 'data/examples/entry.ldif'), 'utf8')).toContain('dn: uid=carol,');
    // Every astldap command line is run through npx (the bin is not on PATH after npm install).
    for (const block of shBlocks()) {
      for (const line of block.split('\n')) expect(line, line).not.toMatch(/(^|[;&|]\s*)astldap\s/);
    }
  });

  it('embeds test/examples/embedding.test.ts verbatim (the suite runs that file)', () => {
    const example = readFileSync(path.join(repoRoot, 'test/examples/embedding.test.ts'), 'utf8');
    expect(README).toContain('```ts\n' + example + '```');
  });

  it('every command runs as written against `npm start` with the repository config', async () => {
    const dir = tmp();
    scratchClone(dir);
    const blocks = shBlocks();
    expect(blocks[0]).toMatch(/^npm install && npm start/);
    const commands = blocks.slice(1).join('\n');
    writeFileSync(path.join(dir, 'readme.sh'), commands, { mode: 0o700 });
    const isolated = spawnSync('unshare', ['-rn', 'ip', 'link', 'set', 'lo', 'up']).status === 0;
    if (!isolated) {
      for (const port of PORTS) expect(await portFree(port), `port ${port} must be free for the README's commands`).toBe(true);
    }
    const script = wrapper(commands, isolated);
    const argv = isolated ? ['unshare', '-rn', 'bash', '-c', script] : ['bash', '-c', script];
    // npx must never reach for the registry: the bin is local.
    const env = { ...process.env, npm_config_offline: 'true', npm_config_yes: 'false', LDAPNOINIT: '1', HOME: dir };
    delete env.ASTLDAP_ADMIN_PASSWORD;
    delete env.ASTLDAP_ROOT_TOKEN;
    delete env.VAULT_ADDR;
    delete env.VAULT_TOKEN;
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: dir, env });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (c) => resolve({ code: c, out }));
    });
    const log = readFileSync(path.join(dir, 'server.log'), 'utf8');
    expect(code, out + '\n--- server log ---\n' + log).toBe(0);
    // What the commands promise.
    expect(out).toContain('dn: uid=alice,ou=people,dc=example,dc=domain');
    expect(out).toContain('mail: alice@');
    expect(out).toContain('dn:cn=admin,dc=example,dc=domain');
    expect(out).toContain('namingContexts: dc=example,dc=domain');
    expect(out).toContain('dn:uid=carol,ou=people,dc=example,dc=domain');
    expect(out).toContain('dn:gidNumber=');
    expect(out).toContain('root credential rotated');
    expect(out).toContain('role alice rotated');
    expect(out).toMatch(/entries {4}\d+/);
    expect(out).toContain('from the running server');
    expect(out).toContain('config.yaml: OK');
    expect(out).toMatch(/\{SSHA\}\S+/);
    expect(out).toMatch(/astldap_operations_total\{type="search",code="0"\} \d+/);
    expect(out).toContain('server exit 0');
    // The access log has a line per operation, and no secret the commands used.
    expect(log).toMatch(/conn=\d+ op=\d+ SEARCH dn="dc=example,dc=domain" scope=sub filter="\(uid=alice\)" result=0 entries=1 ms=\d+/);
    const token = readFileSync(path.join(dir, 'data', 'root-token'), 'utf8').trim();
    const creds = [...out.matchAll(/"(?:password|last_password)": "([^"]+)"/g)].map((m) => m[1]!);
    expect(creds.length).toBeGreaterThan(0);
    for (const secret of [token, 'carol-secret', 'vault-initial', 'newpw', 'newpw2', ...creds]) {
      expect(log.includes(secret), `server log leaks ${secret.slice(0, 3)}...`).toBe(false);
    }
    expect(log).not.toMatch(/\bsecret\b/);
  }, 240_000);
});
