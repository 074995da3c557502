// Starts the admin side of a server: the secrets engine (with its rotation timers) and the
// Vault-compatible HTTP API in front of it.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import type { Directory } from '../directory/directory.js';
import { tlsProvider } from '../config/tls.js';
import { AdminApi } from './api/api.js';
import { resolveRootToken } from './api/root-token.js';
import type { AdminPath } from './api/framework.js';
import type { RotationObserver } from './static/rotation.js';
import { Engine } from './engine/engine.js';
import { Sealer, type SealKeySource } from './engine/seal.js';

export { Engine } from './engine/engine.js';
export { EngineError, type EngineErrorKind } from './engine/errors.js';
export { AdminApi, healthy } from './api/api.js';
export type { AdminPath, Method, RouteHandler, RouteRequest } from './api/framework.js';
export type { HttpRequest, HttpResponse } from './http/server.js';
export { REFUSAL_SLACK as ADMIN_REFUSAL_SLACK } from './http/server.js';
export type { RotationObserver } from './static/rotation.js';
export { SealKeyError } from './engine/seal.js';

/** ASTLDAP_SEAL_KEY, else the configured key file, else seal-key beside the db (a memory db: a key of this process). */
function sealKeySource(config: Config): SealKeySource {
  const env = config.environment.sealKey;
  if (env) return { kind: 'env', value: env };
  if (config.adminApi.sealKeyFile) return { kind: 'file', file: config.adminApi.sealKeyFile };
  if (config.memory) return { kind: 'ephemeral' };
  return { kind: 'file', file: path.join(path.dirname(path.resolve(config.dbPath)), 'seal-key') };
}

export interface AdminHandle {
  engine: Engine;
  api: AdminApi;
  url: string;
  /** Where the root token is kept (undefined when it comes from env/config). */
  tokenFile?: string;
  tokenCreated: boolean;
  /** The root token (for embedders; never logged). */
  token: string;
  /** The audit log file, when one is written (the console reads it for its audit trail). */
  auditFile?: string;
  close(): Promise<void>;
}

export async function startAdmin(opts: {
  config: Config;
  directory: Directory;
  log: Logger;
  ownUrls: () => string[];
  /** Overrides config.adminApi.listen. */
  listen?: string;
  /** The server's own rows of the path table (metrics, status, backup, the console), before the API's and the engine's. */
  paths?: readonly AdminPath[];
  onRotation?: RotationObserver;
  /** Refused sockets the listener may hold before closing more at once. */
  refusalHold?: number;
}): Promise<AdminHandle> {
  const cfg = opts.config.adminApi;
  const root = resolveRootToken(cfg, opts.log);
  if (root.created) opts.log.info(`admin api: generated a root token in ${root.file} (mode 0600)`);
  else if (root.file) opts.log.info(`admin api: root token read from ${root.file}`);
  const sealer = Sealer.open(sealKeySource(opts.config));
  const engine = new Engine({
    dir: opts.directory,
    log: opts.log,
    ownUrls: opts.ownUrls,
    defaultRealm: cfg.asteriskRealm,
    sealer,
    mount: cfg.mount,
    onRotation: opts.onRotation,
  });
  const listen = opts.listen ?? cfg.listen;
  let tls: { cert: string; key: string } | undefined;
  if (listen.startsWith('https:')) {
    if (cfg.tls.cert && cfg.tls.key) tls = { cert: readFileSync(cfg.tls.cert, 'utf8'), key: readFileSync(cfg.tls.key, 'utf8') };
    else {
      const m = await tlsProvider(opts.config, opts.log).material();
      tls = { cert: m.cert.toString(), key: m.key.toString() };
    }
  }
  const auditFile =
    cfg.auditLog ?? (opts.config.memory ? undefined : path.join(path.dirname(path.resolve(opts.config.dbPath)), 'audit.log'));
  const api = await AdminApi.start({
    engine,
    config: cfg,
    tokens: [root.token, ...cfg.tokens],
    log: opts.log,
    listen,
    tls,
    auditFile,
    ...(opts.paths ? { paths: opts.paths } : {}),
    ...(opts.refusalHold !== undefined ? { refusalHold: opts.refusalHold } : {}),
  });
  try {
    await engine.start();
  } catch (err) {
    await api.close();
    throw err;
  }
  return {
    engine,
    api,
    url: api.url,
    tokenFile: root.file,
    tokenCreated: root.created,
    token: root.token,
    auditFile,
    async close() {
      await api.close();
      await engine.stop();
    },
  };
}
