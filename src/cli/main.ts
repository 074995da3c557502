#!/usr/bin/env node
// The astldap command: `serve` runs the server; `export` and `import` move LDIF in and out of a
// stopped server's database. Options override config.yaml.

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../config/config.js';
import { AstldapServer } from '../server.js';
import { adminCommand, ADMIN_USAGE } from '../admin/client.js';

const usage = `usage: astldap <command> [options]

commands:
  serve                 run the server (default command)
  export                print the database as LDIF (server must not be running)
  import FILE           apply an LDIF file to the database (server must not be running)
${ADMIN_USAGE}
options:
  --config FILE         configuration file (default: ./config.yaml, else the packaged one)
  --data DIR            data directory (database under DIR/db)
  --listen URL          ldap://HOST:PORT, ldapi://PATH or ldaps://HOST:PORT; repeatable
  --no-seed             do not load the seed LDIF into an empty database
  --memory              keep the database in memory only
  --admin-listen URL    where the Vault-compatible admin API listens (http[s]://HOST:PORT;
                        port 0 picks a free one; default adminApi.listen, http://127.0.0.1:8200)
  --no-admin            do not start the admin API
  --admin-url URL       (role/cred/rotate) the admin API to talk to (default: env VAULT_ADDR,
                        else adminApi.listen)
  -h, --help            this text
`;

function defaultConfigFile(): string | undefined {
  const local = path.resolve('config.yaml');
  if (existsSync(local)) return local;
  const packaged = path.join(packageRoot, 'config.yaml');
  return existsSync(packaged) ? packaged : undefined;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      data: { type: 'string' },
      listen: { type: 'string', multiple: true },
      'no-seed': { type: 'boolean' },
      memory: { type: 'boolean' },
      'admin-listen': { type: 'string' },
      'no-admin': { type: 'boolean' },
      'admin-url': { type: 'string' },
      dn: { type: 'string' },
      username: { type: 'string' },
      'rotation-period': { type: 'string' },
      'rotation-schedule': { type: 'string' },
      'rotation-window': { type: 'string' },
      'password-policy': { type: 'string' },
      'skip-import-rotation': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const command = positionals[0] ?? 'serve';
  const base = {
    configFile: values.config ?? defaultConfigFile(),
    dataDir: values.data,
    listen: values.listen,
    memory: values.memory,
    seed: values['no-seed'] ? (false as const) : undefined,
  };
  switch (command) {
    case 'serve': {
      const adminApi = values['no-admin'] ? false : (values['admin-listen'] ?? 'auto');
      const server = await AstldapServer.start({ ...base, adminApi });
      // The admin lines first: whoever waits for `astldap listening on` then has them too.
      if (server.admin) {
        process.stdout.write(`astldap admin api on ${server.admin.url}\n`);
        if (server.admin.tokenFile) {
          process.stdout.write(`astldap admin root token ${server.admin.tokenCreated ? 'written to' : 'in'} ${server.admin.tokenFile}\n`);
        }
      }
      for (const u of server.urls) process.stdout.write(`astldap listening on ${u}\n`);
      let closing = false;
      const stop = () => {
        if (closing) return;
        closing = true;
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      return -1; // keep running
    }
    case 'export': {
      const server = await AstldapServer.start({ ...base, seed: false, listen: ['ldap://127.0.0.1:0'], logger: false });
      process.stdout.write(await server.exportLdif({ operational: true }));
      await server.close();
      return 0;
    }
    case 'import': {
      const file = positionals[1];
      if (!file) throw new Error('import needs an LDIF file');
      const server = await AstldapServer.start({ ...base, listen: ['ldap://127.0.0.1:0'], logger: false, bulk: true });
      const n = await server.importLdifFile(file, importProgress(file));
      process.stdout.write(`applied ${n} records\n`);
      await server.close();
      return 0;
    }
    case 'role':
    case 'cred':
    case 'rotate':
    case 'rotate-root':
    case 'policy':
      return adminCommand(command, positionals.slice(1), values, base.configFile);
    default:
      process.stderr.write(usage);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`astldap: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

/** A progress bar on stderr when it is a terminal (nothing otherwise). */
function importProgress(file: string): ((bytes: number, records: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const total = statSync(file).size || 1;
  const started = Date.now();
  return (bytes, records) => {
    const frac = Math.min(1, bytes / total);
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const secs = (Date.now() - started) / 1000;
    process.stderr.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${records} records ${secs.toFixed(1)} s`);
    if (frac >= 1) process.stderr.write('\n');
  };
}
