// The console's Voicemail and Queues page over the session's LDAP connection: mailboxes (never
// their PINs), queues with their members; add and remove through src/asterisk/mailboxes-queues.ts,
// the same code as `astldap asterisk mailbox|queue`, so entries are laid out as convert lays them.

import type { HttpResponse } from '../admin/index.js';
import { MEMBER_CLASSES, QUEUE_CLASSES } from '../asterisk/convert-queues.js';
import { VOICEMAIL_CLASSES } from '../asterisk/convert-voicemail.js';
import type { DirectoryClient, LdapEntry } from '../asterisk/ldap-client.js';
import { addMailbox, addMember, addQueue, removeMailbox, removeMember, removeQueue } from '../asterisk/mailboxes-queues.js';
import type { Layout } from '../asterisk/session.js';
import { layout, refused } from './ldap-common.js';
import { failure, json, str } from './web.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,79}$/;
const IFACE = /^[A-Za-z0-9][A-Za-z0-9._@+/:-]{0,127}$/;

/** The entries of a family, by the object class its res_ldap.conf section filters on. */
function byClass(client: DirectoryClient, l: Layout, family: string, own: string): Promise<LdapEntry[]> {
  const cls = l.classes(family, own);
  return client.search(l.base(family), `(objectClass=${cls[cls.length - 1]})`, 'one');
}

function column(l: Layout, family: string) {
  return (e: LdapEntry, c: string): string | undefined => e.attrs.get(l.attr(family, c).toLowerCase())?.[0];
}

async function mailboxes(client: DirectoryClient, l: Layout): Promise<HttpResponse> {
  const col = column(l, 'voicemail');
  const rows = (await byClass(client, l, 'voicemail', VOICEMAIL_CLASSES[0]!)).map((e) => ({
    mailbox: col(e, 'mailbox') ?? '',
    context: col(e, 'context') ?? 'default',
    fullname: col(e, 'fullname'),
    email: col(e, 'email'),
  }));
  rows.sort((a, b) => `${a.mailbox}@${a.context}`.localeCompare(`${b.mailbox}@${b.context}`, 'en', { numeric: true }));
  return json(200, { mailboxes: rows });
}

async function queues(client: DirectoryClient, l: Layout): Promise<HttpResponse> {
  const q = column(l, 'queues');
  const m = column(l, 'queue_members');
  const members = (await byClass(client, l, 'queue_members', MEMBER_CLASSES[0]!)).map((e) => ({
    queue: m(e, 'queue_name') ?? '',
    interface: m(e, 'interface') ?? '',
    membername: m(e, 'membername'),
    penalty: m(e, 'penalty'),
    paused: m(e, 'paused'),
  }));
  const rows = (await byClass(client, l, 'queues', QUEUE_CLASSES[0]!)).map((e) => {
    const name = e.attrs.get('cn')?.[0] ?? '';
    return { name, strategy: q(e, 'strategy'), members: members.filter((x) => x.queue === name) };
  });
  rows.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  return json(200, { queues: rows });
}

export async function pbxRoute(
  client: DirectoryClient,
  method: string,
  head: 'mailboxes' | 'queues',
  rest: string[],
  body: Record<string, unknown>,
): Promise<HttpResponse | undefined> {
  const l = layout();
  try {
    if (head === 'mailboxes') {
      if (!rest.length && method === 'GET') return await mailboxes(client, l);
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
      if (rest.length === 1 && method === 'DELETE') return json(200, { removed: await removeMailbox(client, l, rest[0]!) });
      return undefined;
    }
    const [name, sub, iface] = rest;
    if (name === undefined && method === 'GET') return await queues(client, l);
    if (name === undefined && method === 'POST') {
      const n = str(body.name);
      if (!n || !NAME.test(n)) return failure(400, 'a queue name is letters, digits and ._@+-');
      return json(201, { dn: await addQueue(client, l, n, { strategy: str(body.strategy) }) });
    }
    if (name === undefined || !NAME.test(name)) return undefined;
    if (sub === undefined && method === 'DELETE') return json(200, { removed: await removeQueue(client, l, name) });
    if (sub === 'members' && iface === undefined && method === 'POST') {
      const i = str(body.interface);
      if (!i || !IFACE.test(i)) return failure(400, 'an interface such as PJSIP/1001');
      return json(201, { dn: await addMember(client, l, name, i, { penalty: str(body.penalty), membername: str(body.membername) }) });
    }
    if (sub === 'members' && iface !== undefined && method === 'DELETE')
      return json(200, { removed: await removeMember(client, l, name, iface) });
  } catch (e) {
    return refused(e);
  }
  return undefined;
}
