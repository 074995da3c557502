// The identity a TLS client certificate names, for SASL EXTERNAL over ldaps:// or StartTLS.

import type tls from 'node:tls';
import type { TlsProvider } from '../config/tls.js';

/** A verified client certificate's subject as an LDAP DN (RFC 4514 order: most specific first). */
export function peerDn(socket: tls.TLSSocket, provider: TlsProvider | undefined): string | undefined {
  // A server-side TLSSocket made for StartTLS has no `authorized`: verify it the same way here.
  const cert = socket.getPeerX509Certificate();
  if (!cert || !provider || !provider.verifyPeer(cert)) return undefined;
  const subject = cert.subject; // "C=..\nO=..\nCN=.." (X.500 order)
  const rdns = subject.split('\n').filter(Boolean).reverse();
  return rdns
    .map((r) => {
      const i = r.indexOf('=');
      return `${r.slice(0, i).toLowerCase()}=${r.slice(i + 1).replace(/([,+"\\<>;])/g, '\\$1')}`;
    })
    .join(',');
}
