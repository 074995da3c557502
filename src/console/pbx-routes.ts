// The console's Voicemail and Queues page over the session's LDAP connection: mailboxes (never
// their PINs), queues with their members; list, add and remove through
// src/asterisk/mailboxes-queues.ts, the same code as `astldap asterisk mailbox|queue`.

import type { HttpResponse } from '../admin/index.js';
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
} from '../asterisk/mailboxes-queues.js';
import { layout, refused } from './ldap-common.js';
import { failure, json, str } from './web.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,79}$/;
const IFACE = /^[A-Za-z0-9][A-Za-z0-9._@+/:-]{0,127}$/;

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
      if (!rest.length && method === 'GET') return json(200, { mailboxes: await listMailboxes(client, l) });
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
    if (name === undefined && method === 'GET') return json(200, { queues: await listQueues(client, l) });
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
