// The open-files budget: LDAP's connection cap and the admin listener's must fit in the process's
// RLIMIT_NOFILE beside the database's files, or a flood on one listener would take descriptors
// the other (and LevelDB) needs. Checked once at start; caps that do not fit are lowered.

import { readFileSync } from 'node:fs';
import { ADMIN_REFUSAL_SLACK } from '../admin/index.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';

/** Descriptors besides connections: listening sockets, log and audit files, TLS files, ldapi. */
const BASE_FILES = 64;
/** LevelDB's table cache (classic-level's default maxOpenFiles), at most a quarter of the limit. */
const STORE_FILES = 1000;
/** Below this many LDAP connections the server is not worth starting: refuse instead. */
const MIN_LDAP = 32;
const MIN_ADMIN = 8;

/**
 * The soft RLIMIT_NOFILE of this process (Node raises it to the hard limit at start), from
 * /proc/self/limits; undefined where that cannot be read (not Linux) or when it is unlimited.
 */
export function openFilesLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
}

export interface ConnectionCaps {
  ldap: { maxConnections: number; maxConnectionsPerAddress: number; reservedConnections: number };
  /** Absent when the admin API does not run. */
  admin?: { maxConnections: number; maxConnectionsPerAddress: number };
}

/**
 * The caps that fit in `nofile` descriptors (unchanged when they already do), with a sentence
 * on what was lowered; throws when not even a minimal server fits.
 */
export function fitConnectionCaps(
  caps: ConnectionCaps,
  nofile: number,
  memory: boolean,
): { caps: ConnectionCaps; lowered?: string; spare: number } {
  const store = memory ? 0 : Math.min(STORE_FILES, Math.floor(nofile / 4));
  const available = nofile - BASE_FILES - store;
  const adminNeed = caps.admin ? caps.admin.maxConnections + ADMIN_REFUSAL_SLACK : 0;
  const ldapMax = caps.ldap.maxConnections;
  if (ldapMax > 0 && ldapMax + adminNeed <= available) return { caps, spare: available - ldapMax - adminNeed };
  // The admin API gets at most an eighth of what there is; LDAP (Asterisk's side) the rest.
  const admin = caps.admin ? Math.max(MIN_ADMIN, Math.min(caps.admin.maxConnections, Math.floor(available / 8))) : 0;
  const rest = available - (caps.admin ? admin + ADMIN_REFUSAL_SLACK : 0);
  if (rest < MIN_LDAP) {
    throw new Error(
      `the open-files limit (${nofile}) leaves room for ${Math.max(0, rest)} LDAP connections: raise it (ulimit -n, or LimitNOFILE= in the systemd unit)`,
    );
  }
  const ldap = ldapMax > 0 ? Math.min(ldapMax, rest) : rest;
  const out: ConnectionCaps = {
    ldap: {
      maxConnections: ldap,
      maxConnectionsPerAddress: Math.min(caps.ldap.maxConnectionsPerAddress, ldap),
      // Kept below the cap (as the config requires), and at least a quarter of it where it was.
      reservedConnections: Math.min(caps.ldap.reservedConnections, Math.floor(ldap / 4)),
    },
    ...(caps.admin
      ? { admin: { maxConnections: admin, maxConnectionsPerAddress: Math.min(caps.admin.maxConnectionsPerAddress, admin) } }
      : {}),
  };
  const parts = [`limits.maxConnections ${ldapMax || 'unlimited'} -> ${ldap}`];
  if (out.ldap.reservedConnections !== caps.ldap.reservedConnections) {
    parts.push(`limits.reservedConnections ${caps.ldap.reservedConnections} -> ${out.ldap.reservedConnections}`);
  }
  if (caps.admin && admin !== caps.admin.maxConnections)
    parts.push(`adminApi.limits.maxConnections ${caps.admin.maxConnections} -> ${admin}`);
  const lowered =
    `the open-files limit (${nofile}, of which ${BASE_FILES + store} are kept for files) cannot hold the connection caps: ` +
    `${parts.join(', ')} (raise the limit: ulimit -n, or LimitNOFILE= in the systemd unit)`;
  return { caps: out, lowered, spare: 0 };
}

/** How many refused sockets each listener may hold before closing them (see config/refusal.ts). */
export interface RefusalHolds {
  ldap: number;
  admin: number;
}

/**
 * The holds that fit in the descriptors the caps leave, LDAP's first: twice LDAP's cap, and
 * sixteen times the admin API's (a small cap that a pool of idle sockets outnumbers many times).
 */
export function refusalHolds(config: Config, spare: number | undefined): RefusalHolds {
  const ldapCap = 2 * config.limits.maxConnections;
  const adminCap = 16 * config.adminApi.limits.maxConnections;
  if (spare === undefined) return { ldap: ldapCap, admin: adminCap };
  const ldap = Math.min(ldapCap, Math.floor((spare * 7) / 8));
  return { ldap, admin: Math.min(adminCap, spare - ldap) };
}

/**
 * Lowers config's caps in place to fit this process's open-files limit, logging what changed;
 * gives the refusal holds that fit in what is left.
 */
export function applyDescriptorBudget(config: Config, withAdmin: boolean, log: Logger, nofile = openFilesLimit()): RefusalHolds {
  if (nofile === undefined) {
    log.debug('open-files limit unknown (no /proc/self/limits): connection caps not checked against it');
    return refusalHolds(config, undefined);
  }
  const l = config.limits;
  const a = config.adminApi.limits;
  const { caps, lowered, spare } = fitConnectionCaps(
    {
      ldap: {
        maxConnections: l.maxConnections,
        maxConnectionsPerAddress: l.maxConnectionsPerAddress,
        reservedConnections: l.reservedConnections,
      },
      ...(withAdmin ? { admin: { maxConnections: a.maxConnections, maxConnectionsPerAddress: a.maxConnectionsPerAddress } } : {}),
    },
    nofile,
    config.memory,
  );
  if (lowered) {
    log.warn(lowered);
    config.limits = { ...l, ...caps.ldap };
    if (caps.admin) config.adminApi = { ...config.adminApi, limits: { ...a, ...caps.admin } };
  }
  return refusalHolds(config, spare);
}
