// Starts astldap for tests: in-process through the embedding API (startServer), or as a child
// process of the built CLI (dist/cli/main.js) when a test needs to kill and restart it.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AstldapServer, StartOptions } from '../../src/index.js';
import { repoRoot } from './slapd.js';
import { removeDir, tempDir } from './tmp.js';

export const CLI = path.join(repoRoot, 'dist/cli/main.js');

export interface InProcessOptions {
  /** Keep the database in memory (default) or in a temp data dir. */
  memory?: boolean;
  /** LDIF loaded into the empty database instead of the packaged seed. */
  seedLdif?: string;
  /** Load the packaged seed (data/seed.ldif) too; default false. */
  packagedSeed?: boolean;
  config?: StartOptions['config'];
}

export interface InProcessAstldap {
  server: AstldapServer;
  url: string;
  dataDir?: string;
  stop(): Promise<void>;
}

/** Starts astldap in this process on ldap://127.0.0.1:<free port>. */
export async function startAstldap(opts: InProcessOptions = {}): Promise<InProcessAstldap> {
  // Imported lazily so that a suite can still run its slapd side while the server is unfinished.
  const { startServer } = await import('../../src/index.js');
  const memory = opts.memory ?? true;
  const dataDir = memory ? undefined : tempDir('astldap-data-');
  try {
    const server = await startServer({
      configFile: path.join(repoRoot, 'config.yaml'),
      memory,
      dataDir,
      listen: ['ldap://127.0.0.1:0'],
      seed: opts.packagedSeed ? undefined : false,
      seedLdif: opts.seedLdif,
      config: opts.config,
      logger: false,
    });
    return {
      server,
      url: server.url,
      dataDir,
      async stop() {
        await server.close();
        if (dataDir) removeDir(dataDir);
      },
    };
  } catch (err) {
    if (dataDir) removeDir(dataDir);
    throw err;
  }
}

export interface SpawnedAstldap {
  url: string;
  pid: number;
  process: ChildProcess;
  /** Output so far (stdout and stderr interleaved), for failure messages. */
  output(): string;
  /** Sends a signal and waits for the process to exit; resolves with its exit code or signal. */
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
}

/** Runs `node dist/cli/main.js ...args`; resolves with the URL from its `astldap listening on` line. */
export function spawnAstldap(
  args: readonly string[],
  opts: {
    cwd?: string;
    timeoutMs?: number;
    /** Start under this umask (octal text, e.g. '022'). */
    umask?: string;
    /** Start with this open-files limit (ulimit -n, soft and hard). */
    nofile?: number;
  } = {},
): Promise<SpawnedAstldap> {
  if (!existsSync(CLI)) return Promise.reject(new Error(`${CLI} is missing: run npm run build first`));
  // With a umask or a limit, a shell sets them and then becomes node (exec), so the pid is the server's.
  const setup = [opts.umask ? `umask ${opts.umask}` : '', opts.nofile ? `ulimit -n ${Math.floor(opts.nofile)}` : ''].filter(Boolean);
  const [cmd, argv] = setup.length
    ? ['/bin/sh', ['-c', `${setup.join(' && ')} && exec "$0" "$@"`, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: opts.cwd ?? os.tmpdir(), // not the repo: no ./config.yaml there unless --config says so
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'test' },
    });
    let out = '';
    let settled = false;
    const exited = new Promise<number | NodeJS.Signals | null>((res) => child.once('exit', (code, signal) => res(code ?? signal)));
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`astldap did not start within ${opts.timeoutMs ?? 30_000} ms:\n${out}`));
    }, opts.timeoutMs ?? 30_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /astldap listening on (ldap:\/\/\S+)/.exec(out);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          pid: child.pid!,
          process: child,
          output: () => out,
          async kill(signal: NodeJS.Signals = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`astldap exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
}
