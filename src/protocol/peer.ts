// The identity a TLS client certificate names, for SASL EXTERNAL over ldaps:// or StartTLS, and
// the StartTLS upgrade of a connection's socket.

import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { TlsProvider } from '../config/tls.js';

/** A verified client certificate's subject as an LDAP DN (RFC 4514 order: most specific first). */
export function peerDn(socket: tls.TLSSocket, provider: TlsProvider | undefined): string | undefined {
  // A server-side TLSSocket made for StartTLS has no `authorized`: verify it the same way here.
  // The detailed form first: once getPeerX509Certificate() has run, Node returns the peer
  // certificate without the chain the client sent (issuerCertificate missing).
  const detailed = socket.getPeerCertificate(true);
  if (!detailed?.raw || !provider) return undefined;
  const cert = new X509Certificate(detailed.raw);
  if (!provider.verifyPeer(cert, presentedChain(detailed))) return undefined;
  const subject = cert.subject; // "C=..\nO=..\nCN=.." (X.500 order)
  const rdns = subject.split('\n').filter(Boolean).reverse();
  return rdns
    .map((r) => {
      const i = r.indexOf('=');
      return `${r.slice(0, i).toLowerCase()}=${r.slice(i + 1).replace(/([,+"\\<>;])/g, '\\$1')}`;
    })
    .join(',');
}

/** The certificates the client sent above its own (intermediates), for the chain to the CA. */
function presentedChain(leaf: tls.DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set([leaf.fingerprint256]);
  for (let c = leaf.issuerCertificate; c?.raw && !seen.has(c.fingerprint256) && out.length < 8; c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
  }
  return out;
}

/** What the log says when a client tries to renegotiate (its connection is then closed). */
export const RENEGOTIATION_REFUSED = 'TLS renegotiation refused, closing';

/**
 * A server-side TLS socket over an accepted TCP socket (ldaps://) or over a connection's socket
 * after StartTLS (RFC 4511 §4.14): the caller listens to it before `handshake` runs, so nothing
 * the client sends after the handshake is missed. Renegotiation is refused: Node's own check is
 * turned on, and since a socket made this way reports that check only internally, a second
 * completed handshake ends the socket (onRenegotiation says so first). The context refuses
 * renegotiation in OpenSSL too (SSL_OP_NO_RENEGOTIATION, see config/tls.ts).
 */
export function serverTlsSocket(
  raw: Socket,
  context: tls.SecureContext,
  provider: TlsProvider,
  onRenegotiation: () => void,
): tls.TLSSocket {
  const secure = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: context,
    requestCert: provider.requestCert,
    rejectUnauthorized: false,
  });
  secure.disableRenegotiation();
  // A failed handshake destroys the socket with an error: it must not become an uncaught one.
  secure.on('error', () => {});
  let handshakes = 0;
  secure.on('secure', () => {
    if (++handshakes === 1) return;
    onRenegotiation();
    secure.destroy();
  });
  return secure;
}

/** StartTLS: the connection's socket, detached from the connection, wrapped for the handshake. */
export function upgradeSocket(raw: Socket, context: tls.SecureContext, provider: TlsProvider, onRenegotiation: () => void): tls.TLSSocket {
  raw.removeAllListeners('data');
  raw.removeAllListeners('close');
  return serverTlsSocket(raw, context, provider, onRenegotiation);
}

/** The handshake deadline when pduTimeout is 0 (no deadline for PDUs): Node's own default. */
const HANDSHAKE_TIMEOUT_MS = 120_000;

/** How a handshake ended: secure (with the verified client certificate's DN), or why not. */
export type Handshake = { secure: true; peerDn?: string } | { secure: false; reason: string };

/**
 * Waits for the handshake, at most timeoutMs (0: HANDSHAKE_TIMEOUT_MS), after which the socket
 * is destroyed.
 */
export function handshake(secure: tls.TLSSocket, provider: TlsProvider, timeoutMs: number): Promise<Handshake> {
  const ms = timeoutMs > 0 ? timeoutMs : HANDSHAKE_TIMEOUT_MS;
  return new Promise((resolve) => {
    let reason = 'closed by the client';
    const timer = setTimeout(() => {
      reason = `not completed within ${ms} ms`;
      secure.destroy();
    }, ms).unref();
    const finish = (r: Handshake): void => {
      clearTimeout(timer);
      resolve(r);
    };
    secure.once('secure', () => {
      const dn = peerDn(secure, provider);
      finish(dn ? { secure: true, peerDn: dn } : { secure: true });
    });
    secure.once('close', () => finish({ secure: false, reason }));
    secure.once('error', (err) => finish({ secure: false, reason: err.message }));
  });
}
