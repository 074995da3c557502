// chan_sip and IAX peers, where a site still has them (ou=sip, as sample.ldif and `convert
// --chan-sip` lay them out): read-only rows for the Endpoints page, with the registration that
// chan_sip/chan_iax2 write back (address, port, expiry, user agent). Never a secret.

import type { DirectoryClient, LdapEntry } from '../asterisk/ldap-client.js';
import type { Layout } from '../asterisk/session.js';
import type { PeerInfo } from './types.js';

const FAMILIES = [
  ['sip', 'sippeers'],
  ['iax', 'iaxpeers'],
] as const;

export async function listPeers(client: DirectoryClient, l: Layout, now = Date.now()): Promise<PeerInfo[]> {
  const out: PeerInfo[] = [];
  const seen = new Set<string>();
  for (const [kind, family] of FAMILIES) {
    if (!l.ext.has(family)) continue;
    const col = (e: LdapEntry, c: string): string | undefined => {
      try {
        return e.attrs.get(l.attr(family, c).toLowerCase())?.[0];
      } catch {
        return undefined; // a column this site's res_ldap.conf does not map
      }
    };
    const cls = l.classes(family, '').filter(Boolean);
    if (!cls.length) continue; // no object class to tell its rows from the other families'
    for (const e of await client.search(l.base(family), `(objectClass=${cls[cls.length - 1]})`, 'one')) {
      if (seen.has(e.dn)) continue;
      seen.add(e.dn);
      const ip = col(e, 'ipaddr');
      const port = col(e, 'port');
      const reg = Number(col(e, 'regseconds') ?? 0);
      const registered = Boolean(ip) && reg * 1000 > now;
      out.push({
        kind,
        name: e.attrs.get('cn')?.[0] ?? e.dn,
        context: col(e, 'context'),
        host: col(e, 'host'),
        address: ip ? `${ip}${port && port !== '0' ? `:${port}` : ''}` : undefined,
        userAgent: col(e, 'useragent'),
        expires: reg > 0 ? new Date(reg * 1000).toISOString() : undefined,
        state: registered ? 'registered' : 'unregistered',
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}
