// Starts the admin side of a server: the secrets engine (with its rotation timers) and the
// Vault-compatible HTTP API in front of it.

import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import type { Directory } from '../directory/directory.js';
import { tlsProvider } from '../config/tls.js';
import { AdminApi, resolveRootToken, type ExtraRoutes } from './api.js';
import type { RotationObserver } from './rotation.js';
import { Engine } from './engine.js';

export { Engine } from './engine.js';
export { EngineError, type EngineErrorKind } from './errors.js';
export { AdminApi, type ExtraRoutes } from './api.js';
export type { HttpRequest, HttpResponse } from './http.js';
export type { RotationObserver } from './rotation.js';

export interface AdminHandle {
  engine: Engine;
  api: AdminApi;
  url: string;
  /** Where the root token is kept (undefined when it comes from env/config). */
  tokenFile?: string;
  tokenCreated: boolean;
  /** The root token (for embedders; never logged). */
  token: string;
  close(): Promise<void>;
}

export async function startAdmin(opts: {
  config: Config;
  directory: Directory;
  log: Logger;
  ownUrls: () => string[];
  /** Overrides config.adminApi.listen. */
  listen?: string;
  /** The server's own routes beside the engine's (metrics, status, backup). */
  extra?: ExtraRoutes;
  onRotation?: RotationObserver;
}): Promise<AdminHandle> {
  const cfg = opts.config.adminApi;
  const root = resolveRootToken(cfg, opts.log);
  if (root.created) opts.log.info(`admin api: generated a root token in ${root.file} (mode 0600)`);
  else if (root.file) opts.log.info(`admin api: root token read from ${root.file}`);
  const engine = new Engine({
    dir: opts.directory,
    log: opts.log,
    ownUrls: opts.ownUrls,
    defaultRealm: cfg.asteriskRealm,
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
  const api = await AdminApi.start({
    engine,
    config: cfg,
    tokens: [root.token, ...cfg.tokens],
    log: opts.log,
    listen,
    tls,
    extra: opts.extra,
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
    async close() {
      await api.close();
      await engine.stop();
    },
  };
}
