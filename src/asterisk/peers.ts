// chan_sip and IAX peers, where a site still has them (ou=sip, as sample.ldif and `convert
// --chan-sip` lay them out): their rows with the registration chan_sip/chan_iax2 write back
// (address, port, expiry, user agent), never a secret; and their settings changed in place.
// The console's Endpoints page and `astldap asterisk peer` both use these.

import type { ConnectOptions, DirectoryClient, LdapEntry } from './ldap-client.js';
import { CommandError, EXIT, columnChanges, layoutOf, stringOption as str, withClient, type Layout, type Values } from './session.js';
import type { PeerInfo } from './rows.js';

export const PEER_USAGE = `peer commands (chan_sip and IAX peers in the directory; CONNECTION as for endpoint):
  peer list [--json]                every peer with its registration (no secrets)
  peer set sip|iax NAME [--context C] [--host dynamic|HOST] [--callerid '"Name" <NAME>']
               [--mailbox BOX@CTX]  change settings in place ('' removes the caller ID or mailbox)
exit status: 0 done, 4 no such peer, 2 usage, 1 any other error.
`;

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
        callerid: col(e, 'callerid'),
        mailbox: col(e, 'mailbox'),
        address: ip ? `${ip}${port && port !== '0' ? `:${port}` : ''}` : undefined,
        userAgent: col(e, 'useragent'),
        expires: reg > 0 ? new Date(reg * 1000).toISOString() : undefined,
        state: registered ? 'registered' : 'unregistered',
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

export interface PeerChanges {
  context?: string;
  host?: string;
  callerid?: string;
  mailbox?: string;
}

const familyOf = (kind: string): string => {
  if (kind !== 'sip' && kind !== 'iax') throw new CommandError(EXIT.usage, `a peer is sip or iax, not "${kind}"`);
  return kind === 'sip' ? 'sippeers' : 'iaxpeers';
};

/** Changes a peer's settings in one modify: a value replaces, '' removes (the context and host stay set). */
export async function updatePeer(client: DirectoryClient, l: Layout, kind: string, name: string, c: PeerChanges): Promise<string> {
  const family = familyOf(kind);
  if (c.context === '' || c.host === '') throw new CommandError(EXIT.usage, 'a peer keeps a context and a host');
  const dn = l.dn(family, name);
  const e = await client.read(dn);
  const cls = l.classes(family, '').filter(Boolean).at(-1)?.toLowerCase();
  if (!e || !(e.attrs.get('objectclass') ?? []).some((o) => o.toLowerCase() === cls))
    throw new CommandError(EXIT.notFound, `no ${kind} peer ${name} (${dn})`);
  if (Object.values(c).every((v) => v === undefined))
    throw new CommandError(EXIT.usage, 'nothing to change: give --context, --host, --callerid or --mailbox');
  await client.modify(dn, columnChanges(l, family, e, { ...c }));
  return dn;
}

export async function peerCommand(
  args: string[],
  v: Values,
  conn: ConnectOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const [sub, kind, name, ...extra] = args;
  if (!(sub === 'list' && kind === undefined) && !(sub === 'set' && name !== undefined && !extra.length)) {
    err.write(`astldap asterisk peer: unexpected "${args.join(' ')}"\n${PEER_USAGE}`);
    return EXIT.usage;
  }
  const l = layoutOf(v);
  return withClient(`peer ${sub}`, conn, err, async (client) => {
    if (sub === 'list') {
      const peers = await listPeers(client, l);
      out.write(
        v.json
          ? JSON.stringify(peers, null, 2) + '\n'
          : peers
              .map(
                (p) =>
                  `${p.kind.padEnd(4)} ${p.name.padEnd(12)} ${(p.context ?? '').padEnd(12)} ${p.state}${p.address ? ` ${p.address}` : ''}\n`,
              )
              .join(''),
      );
      return;
    }
    const dn = await updatePeer(client, l, kind!, name!, {
      context: str(v, 'context'),
      host: str(v, 'host'),
      callerid: str(v, 'callerid'),
      mailbox: str(v, 'mailbox'),
    });
    out.write(`changed ${dn}\n`);
  });
}
