// The console's PBX pages over the session's LDAP connection: mailboxes (never their PINs),
// queues with their members, chan_sip/IAX peers (never their secrets) and the realtime dialplan;
// list, add, change in place and remove through src/asterisk/, the same code as `astldap asterisk
// mailbox|queue|peer|dialplan`.

import type { HttpResponse } from '../admin/index.js';
import { addDialplanRow, listDialplan, removeDialplanRow, updateDialplanRow } from '../asterisk/dialplan.js';
import type { DirectoryClient } from '../asterisk/ldap-client.js';
import {
  addMailbox,
  addMember,
  addQueue,
  listMailboxes,
  listQueues,
  removeMailbox,
  removeMember,
  removeQueue,
  updateMailbox,
  updateMember,
  updateQueue,
} from '../asterisk/mailboxes-queues.js';
import { listPeers, updatePeer } from '../asterisk/peers.js';
import { layout, refused } from './ldap-common.js';
import type { DialplanRow, MailboxInfo, PeerInfo, QueueInfo } from './types.js';
import { failure, json, str } from './web.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,79}$/;
const IFACE = /^[A-Za-z0-9][A-Za-z0-9._@+/:-]{0,127}$/;

export type PbxHead = 'mailboxes' | 'queues' | 'peers' | 'dialplan';
export const PBX_HEADS: readonly string[] = ['mailboxes', 'queues', 'peers', 'dialplan'];

/** A field of an edit: a string as given ('' removes the column), or absent. */
const given = (v: unknown): string | undefined => (typeof v === 'string' ? v.trim() : undefined);

export async function pbxRoute(
  client: DirectoryClient,
  method: string,
  head: PbxHead,
  rest: string[],
  body: Record<string, unknown>,
): Promise<HttpResponse | undefined> {
  try {
    if (head === 'mailboxes') return await mailboxes(client, method, rest, body);
    if (head === 'queues') return await queues(client, method, rest, body);
    if (head === 'peers') return await peers(client, method, rest, body);
    return await dialplan(client, method, rest, body);
  } catch (e) {
    return refused(e);
  }
}

async function mailboxes(client: DirectoryClient, method: string, rest: string[], body: Record<string, unknown>) {
  const l = layout();
  if (!rest.length && method === 'GET') {
    const rows: MailboxInfo[] = await listMailboxes(client, l);
    return json(200, { mailboxes: rows });
  }
  if (!rest.length && method === 'POST') {
    const box = str(body.mailbox);
    const context = str(body.context) ?? 'default';
    if (!box || !NAME.test(box) || !NAME.test(context)) return failure(400, 'a mailbox and its context are letters, digits and ._+-');
    const dn = await addMailbox(client, l, `${box}@${context}`, {
      password: str(body.password),
      fullname: str(body.fullname),
      email: str(body.email),
    });
    return json(201, { dn });
  }
  if (rest.length === 1 && method === 'POST') {
    // An empty PIN field leaves the PIN as it is.
    const dn = await updateMailbox(client, l, rest[0]!, {
      password: str(body.password),
      fullname: given(body.fullname),
      email: given(body.email),
    });
    return json(200, { dn });
  }
  if (rest.length === 1 && method === 'DELETE') return json(200, { removed: await removeMailbox(client, l, rest[0]!) });
  return undefined;
}

async function queues(client: DirectoryClient, method: string, rest: string[], body: Record<string, unknown>) {
  const l = layout();
  const [name, sub, iface, extra] = rest;
  if (extra !== undefined) return undefined;
  if (name === undefined && method === 'GET') {
    const rows: QueueInfo[] = await listQueues(client, l);
    return json(200, { queues: rows });
  }
  if (name === undefined && method === 'POST') {
    const n = str(body.name);
    if (!n || !NAME.test(n)) return failure(400, 'a queue name is letters, digits and ._@+-');
    return json(201, { dn: await addQueue(client, l, n, { strategy: str(body.strategy) }) });
  }
  if (name === undefined || !NAME.test(name)) return undefined;
  if (sub === undefined && method === 'POST')
    return json(200, {
      dn: await updateQueue(client, l, name, {
        strategy: given(body.strategy),
        timeout: given(body.timeout),
        musiconhold: given(body.musiconhold),
      }),
    });
  if (sub === undefined && method === 'DELETE') return json(200, { removed: await removeQueue(client, l, name) });
  if (sub !== 'members') return undefined;
  if (iface === undefined && method === 'POST') {
    const i = str(body.interface);
    if (!i || !IFACE.test(i)) return failure(400, 'an interface such as PJSIP/1001');
    return json(201, { dn: await addMember(client, l, name, i, { penalty: str(body.penalty), membername: str(body.membername) }) });
  }
  if (iface === undefined) return undefined;
  if (method === 'POST')
    return json(200, {
      dn: await updateMember(client, l, name, iface, {
        penalty: given(body.penalty),
        paused: given(body.paused),
        membername: given(body.membername),
      }),
    });
  if (method === 'DELETE') return json(200, { removed: await removeMember(client, l, name, iface) });
  return undefined;
}

async function peers(client: DirectoryClient, method: string, rest: string[], body: Record<string, unknown>) {
  const l = layout();
  if (!rest.length && method === 'GET') {
    const rows: PeerInfo[] = await listPeers(client, l);
    return json(200, { peers: rows });
  }
  const [kind, name] = rest;
  if (rest.length !== 2 || method !== 'POST' || !NAME.test(name!)) return undefined;
  const dn = await updatePeer(client, l, kind!, name!, {
    context: given(body.context),
    host: given(body.host),
    callerid: given(body.callerid),
    mailbox: given(body.mailbox),
  });
  return json(200, { dn });
}

async function dialplan(client: DirectoryClient, method: string, rest: string[], body: Record<string, unknown>) {
  const l = layout();
  if (!rest.length && method === 'GET') {
    const rows: DialplanRow[] = await listDialplan(client, l);
    return json(200, { rows });
  }
  if (!rest.length && method === 'POST') {
    const row = {
      context: str(body.context) ?? '',
      exten: str(body.exten) ?? '',
      priority: str(body.priority) ?? '',
      app: str(body.app) ?? '',
    };
    return json(201, { dn: await addDialplanRow(client, l, { ...row, appdata: str(body.appdata) }) });
  }
  if (rest.length !== 3) return undefined;
  const [context, exten, priority] = rest as [string, string, string];
  if (method === 'POST')
    return json(200, {
      dn: await updateDialplanRow(client, l, context, exten, priority, { app: given(body.app), appdata: given(body.appdata) }),
    });
  if (method === 'DELETE') return json(200, { removed: await removeDialplanRow(client, l, context, exten, priority) });
  return undefined;
}
