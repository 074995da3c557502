// The root token, looked up in one place for the server and for the CLI's client:
// adminApi.rootToken (config.yaml, or ASTLDAP_ROOT_TOKEN applied when the configuration
// loaded), else the token file the server wrote on its first start.

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AdminApiConfig, Config } from '../../config/config.js';
import type { Logger } from '../../config/logger.js';

/** Shorter than this, a token file's content is no token (the server makes a new one). */
const MIN_TOKEN = 8;

/** The configured root token, else the token file's; undefined when neither holds one. */
export function findRootToken(cfg: AdminApiConfig): { token: string; file?: string } | undefined {
  if (cfg.rootToken) return { token: cfg.rootToken };
  if (!existsSync(cfg.tokenFile)) return undefined;
  const t = readFileSync(cfg.tokenFile, 'utf8').trim();
  return t.length >= MIN_TOKEN ? { token: t, file: cfg.tokenFile } : undefined;
}

/** The server's root token: findRootToken's, else a new one written to the token file (mode 0600). */
export function resolveRootToken(cfg: AdminApiConfig, log: Logger): { token: string; file?: string; created: boolean } {
  const found = findRootToken(cfg);
  if (found) return { ...found, created: false };
  if (existsSync(cfg.tokenFile)) log.warn(`${cfg.tokenFile} holds no usable token; generating a new one`);
  const token = 'hvs.' + randomBytes(24).toString('base64url');
  mkdirSync(path.dirname(cfg.tokenFile), { recursive: true, mode: 0o700 });
  writeFileSync(cfg.tokenFile, token + '\n', { mode: 0o600 });
  chmodSync(cfg.tokenFile, 0o600);
  return { token, file: cfg.tokenFile, created: true };
}

/**
 * The token a command-line client sends to the running server's admin API: ASTLDAP_ROOT_TOKEN,
 * else VAULT_TOKEN as Vault's own CLI reads it, else findRootToken's. The one lookup of the CLI
 * (its admin commands, export, backup and status).
 */
export function clientToken(cfg: Config): string {
  const token = cfg.environment.rootToken || cfg.environment.vaultToken || findRootToken(cfg.adminApi)?.token;
  if (!token)
    throw new Error(
      `no admin token: set ASTLDAP_ROOT_TOKEN or make ${cfg.adminApi.tokenFile} readable (the server writes it on first start)`,
    );
  return token;
}
