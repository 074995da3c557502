// The production files agree with the configuration they serve: the systemd unit (hardened,
// checked with systemd-analyze where it exists) and the Dockerfile (node:20-slim, the data
// directory as a volume, the ports of config.yaml) with its configuration file.

import { execFile, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';

const read = (f: string) => readFileSync(path.join(repoRoot, f), 'utf8');

describe('production files', () => {
  const tmp = useTempDir('astldap-prod-');

  it('the systemd unit is hardened and verifies', () => {
    const unit = read('contrib/astldap.service');
    for (const line of ['DynamicUser=yes', 'StateDirectory=astldap', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'KillSignal=SIGTERM']) {
      expect(unit).toContain(line);
    }
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/node --max-semi-space-size=8 \/opt\/astldap\/dist\/cli\/main\.js serve --config \S+ --data \/var\/lib\/astldap$/m,
    );
    const analyze = spawnSync('systemd-analyze', ['--version']);
    // Where systemd's tools exist (Debian: apt-get install systemd), the unit must verify clean.
    if (analyze.status === 0) {
      const copy = path.join(tmp(), 'astldap.service');
      copyFileSync(path.join(repoRoot, 'contrib/astldap.service'), copy);
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr.trim()).toBe('');
    }
  });

  it('npm ci runs no unreviewed install scripts: allowScripts covers every package that has one', () => {
    // From the lock, which is what npm ci installs: every package whose install script would
    // run (hasInstallScript) has its allowScripts entry (name, or name@version as npm pins it).
    // Not `npm install-scripts ls`: npm 11.19 takes a lock written without registry URLs
    // (omit-lockfile-registry-resolved) for file: packages and then lists their `prepare`
    // scripts, which npm never runs for a registry package, and ignores name-only entries.
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string; hasInstallScript?: boolean }> };
    const allow = (JSON.parse(read('package.json')) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    const withScripts = Object.entries(lock.packages)
      .filter(([p, meta]) => p.startsWith('node_modules/') && meta.hasInstallScript)
      .map(([p, meta]) => ({ name: p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length), version: meta.version }));
    expect(withScripts.map((x) => x.name)).toContain('classic-level');
    const unreviewed = withScripts.filter(({ name, version }) => allow[name] === undefined && allow[`${name}@${version}`] === undefined);
    expect(unreviewed).toEqual([]);
    // And each approval names a package that is there (no stale entries).
    for (const key of Object.keys(allow)) {
      const name = key.replace(/(?<=.)@[^@]+$/, '');
      expect(
        withScripts.map((x) => x.name),
        key,
      ).toContain(name);
    }
  });

  it('the Dockerfile uses node:20-slim, a /data volume and the ports of config.yaml; its config checks', async () => {
    const docker = read('Dockerfile');
    expect(docker).toMatch(/^FROM node:20-slim\b/m);
    expect(docker).toContain('VOLUME ["/data"]');
    const cfg = YAML.parse(read('config.yaml')) as { listen: string[]; adminApi: { listen: string } };
    const ports = [...cfg.listen, cfg.adminApi.listen].map((u) => /:(\d+)\/?$/.exec(u)?.[1]).filter(Boolean);
    expect(ports).toEqual(['1389', '1636', '8200']);
    expect(docker).toMatch(new RegExp(`^EXPOSE ${ports.join(' ')}$`, 'm'));
    const container = YAML.parse(read('contrib/container.yaml')) as { listen: string[]; adminApi: { listen: string } };
    const cports = [...container.listen, container.adminApi.listen].map((u) => /:(\d+)\/?$/.exec(u)?.[1]).filter(Boolean);
    expect(cports).toEqual(ports);
    const check = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [CLI, 'check', '--config', path.join(repoRoot, 'contrib/container.yaml')], (err, stdout) =>
        resolve({ code: err ? 1 : 0, out: stdout }),
      ),
    );
    expect(check.code, check.out).toBe(0);
  });

  it('every launcher gives node the V8 flags of `npm start`, and the server runs with them', async () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: { start: string } };
    const flags = pkg.scripts.start.split(' ').filter((w) => w.startsWith('--'));
    expect(flags).toContain('--max-semi-space-size=8');
    expect(pkg.scripts.start).toBe(`node ${flags.join(' ')} dist/cli/main.js serve`);
    expect(read('Dockerfile')).toContain(`ENTRYPOINT ["node", ${flags.map((f) => JSON.stringify(f)).join(', ')}, "/app/dist/cli/main.js"]`);
    expect(read('contrib/astldap.service')).toContain(`ExecStart=/usr/bin/node ${flags.join(' ')} /opt/astldap/dist/cli/main.js serve`);
    expect(read('bench/run.mjs')).toMatch(/scripts\.start/);
    // The command as npm links it runs node without flags, portably (BusyBox's env has no -S).
    expect(read('bin/astldap.mjs').split('\n')[0]).toBe('#!/usr/bin/env node');
    // The start script itself, run by a shell as npm runs it (exec: the pid is node's), with
    // options appended: the server's node has the flags.
    const cfg = path.join(tmp(), 'config.yaml');
    writeFileSync(
      cfg,
      'suffix: dc=example,dc=com\nadmin: { dn: "cn=admin,dc=example,dc=com", password: secret }\nseed: null\nadminApi: { enabled: false }\n',
      {
        mode: 0o600,
      },
    );
    const args = ['--config', cfg, '--memory', '--listen', 'ldap://127.0.0.1:0'];
    const child = spawn('/bin/sh', ['-c', `exec ${pkg.scripts.start} "$@"`, 'sh', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const onData = (b: Buffer) => {
          out += b.toString();
          if (out.includes('astldap listening on')) resolve();
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const cmdline = `/proc/${child.pid}/cmdline`;
      if (existsSync(cmdline))
        expect(
          readFileSync(cmdline, 'utf8')
            .split('\0')
            .slice(1, 1 + flags.length),
        ).toEqual(flags);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
    }
  });
});
