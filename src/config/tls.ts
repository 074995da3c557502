// The server's TLS material for ldaps:// and StartTLS: the configured PEM files, or for
// development a self-signed certificate for localhost, made once and kept in <dataDir>/tls
// (in memory only for memory-backed servers). Created on first use, so a server that never
// speaks TLS never pays for it.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ensurePrivateDir, restrictTree } from './files.js';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate, constants } from 'node:crypto';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** Lazily supplies the server's TLS context (a development certificate may be generated first). */
export interface TlsProvider {
  context(): Promise<tls.SecureContext>;
  /** The options context() is made from (key, certificate, CA, protocol settings). */
  options(): Promise<tls.SecureContextOptions>;
  /** Ask clients for a certificate (verified against the configured CA) for SASL EXTERNAL. */
  requestCert: boolean;
  /**
   * True when a client certificate chains to the configured CA (after context() resolved),
   * through intermediates the client presented (`presented`) or the CA file holds.
   */
  verifyPeer(cert: X509Certificate, presented?: X509Certificate[]): boolean;
}

export interface TlsMaterial {
  cert: string;
  key: string;
  ca?: string;
  /** Where the development certificate is, for clients to trust (LDAPTLS_CACERT). */
  devCertPath?: string;
}

/** A self-signed certificate for localhost, this host's name and the loopback addresses (selfsigned: X.509 without openssl). */
export async function selfSignedPair(): Promise<{ cert: string; key: string }> {
  // Loaded when needed (a tenth of a second of start-up for every command otherwise).
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    days: 3650,
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          // libldap checks the name it connected to after a reverse lookup: often the host name.
          ...(os.hostname() && os.hostname() !== 'localhost' ? [{ type: 2 as const, value: os.hostname() }] : []),
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  } as Parameters<typeof import('selfsigned').generate>[1]);
  return { cert: pems.cert, key: pems.private };
}

export async function loadTlsMaterial(config: Config, log: Logger): Promise<TlsMaterial> {
  const { cert, key, ca } = config.tls;
  if (cert && key) {
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), ...(ca ? { ca: readFileSync(ca, 'utf8') } : {}) };
  }
  const caPem = ca ? { ca: readFileSync(ca, 'utf8') } : {};
  if (config.memory) return { ...(await selfSignedPair()), ...caPem };
  const dir = path.join(config.dataDir, 'tls');
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    const pair = await selfSignedPair();
    ensurePrivateDir(dir);
    writeFileSync(keyPath, pair.key, { mode: 0o600 });
    writeFileSync(certPath, pair.cert, { mode: 0o600 });
    restrictTree(dir); // an existing file keeps its mode through writeFileSync
    log.info(`created a self-signed development certificate: ${certPath} (clients: LDAPTLS_CACERT=${certPath})`);
  }
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), ...caPem, devCertPath: certPath };
}

export function tlsProvider(config: Config, log: Logger): TlsProvider & { material(): Promise<TlsMaterial> } {
  let material: Promise<TlsMaterial> | undefined;
  let context: Promise<tls.SecureContext> | undefined;
  let cas: X509Certificate[] = [];
  const getMaterial = () =>
    (material ??= loadTlsMaterial(config, log).then((m) => {
      cas = m.ca ? splitPem(m.ca).map((p) => new X509Certificate(p)) : [];
      return m;
    }));
  const options = async (): Promise<tls.SecureContextOptions> => {
    const m = await getMaterial();
    // TLS 1.2 renegotiation is refused by OpenSSL itself (a client may otherwise make the server
    // run handshake after handshake on one connection); TLS 1.3 has none.
    return {
      cert: m.cert,
      key: m.key,
      ...(m.ca ? { ca: m.ca } : {}),
      minVersion: 'TLSv1.2',
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      // Without it OpenSSL refuses to resume a session when client certificates are asked for
      // (tls.Server sets one of its own; ldaps:// and StartTLS sockets share this context).
      sessionIdContext: 'astldap',
    };
  };
  return {
    requestCert: config.tls.ca !== null,
    material: getMaterial,
    options,
    context: () => (context ??= options().then((o) => tls.createSecureContext(o))),
    verifyPeer(cert: X509Certificate, presented: X509Certificate[] = []): boolean {
      return chainsTo(cert, cas, [...presented, ...cas]);
    },
  };
}

/** Certificate chains longer than this are refused (OpenSSL's default verify depth is 100; 8 is ample). */
const MAX_CHAIN = 8;

const current = (c: X509Certificate, now: number) => now >= Date.parse(c.validFrom) && now <= Date.parse(c.validTo);
const issuedBy = (c: X509Certificate, issuer: X509Certificate) => c.checkIssued(issuer) && c.verify(issuer.publicKey);

/**
 * Builds the chain from cert up to one of the anchors: each link must be in its validity
 * period and signed by the next; every certificate above the leaf must be a CA.
 */
function chainsTo(cert: X509Certificate, anchors: X509Certificate[], pool: X509Certificate[]): boolean {
  const now = Date.now();
  let cur = cert;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (!current(cur, now)) return false;
    if (anchors.some((a) => a.ca && current(a, now) && issuedBy(cur, a))) return true;
    const next = pool.find((c) => c.ca && c.fingerprint256 !== cur.fingerprint256 && issuedBy(cur, c));
    if (!next) return false;
    cur = next;
  }
  return false;
}

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
