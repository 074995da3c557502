// A stopped server's database opened by a command (export, backup, import, restore):
// the data directory's lock taken, the schema and the store as `serve` opens them, and nothing
// a client could reach (a private loopback listener, no admin API, no seed, no logging).

import { AstldapServer, type StartOptions } from '../server/index.js';

/** Where the command's server lives: what the command line and the config file say. */
export type Base = Pick<StartOptions, 'configFile' | 'dataDir' | 'listen' | 'memory' | 'seed'>;

/** `bulk` for a load (the store tuned for many writes); no start-up warm-up either way. */
export function openOffline(base: Base, opts: Pick<StartOptions, 'bulk'> = {}): Promise<AstldapServer> {
  return AstldapServer.start({
    ...base,
    seed: false,
    listen: ['ldap://127.0.0.1:0'],
    logger: false,
    adminApi: false,
    warm: false,
    ...opts,
  });
}
