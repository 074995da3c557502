// Voicemail boxes and queues against a running directory, as an LDAP client: entries laid out as
// convert lays them out (same DNs, classes and columns), so a box added here and one converted
// from voicemail.conf are the same thing. One entry per operation, so each is one LDAP request,
// except removing a queue with its members: one LDAP transaction where the server offers them.

import { escapeFilter, type ConnectOptions, type DirectoryClient, type LdapEntry } from './ldap-client.js';
import { mailboxId, VOICEMAIL_CLASSES } from './convert-voicemail.js';
import { MEMBER_CLASSES, memberId, QUEUE_CLASSES } from './convert-queues.js';
import { CommandError, EXIT, columnChanges, layoutOf, stringOption as str, withClient, type Layout, type Values } from './session.js';
import type { MailboxInfo, QueueInfo } from './rows.js';

export const MAILBOX_QUEUE_USAGE = `mailbox and queue commands (CONNECTION as for endpoint):
  mailbox add BOX[@CONTEXT] --password PIN [--fullname NAME] [--email ADDR]
  mailbox set BOX[@CONTEXT] [--password PIN] [--fullname NAME] [--email ADDR]
                                    change a box in place ('' removes a name or address)
  mailbox remove BOX[@CONTEXT]
  mailbox list [--json]             every mailbox (no PINs)
  queue add NAME [--strategy ringall|leastrecent|...]
  queue set NAME [--strategy S] [--timeout SECONDS] [--musiconhold CLASS]
  queue remove NAME                 the queue and its members
  queue list [--json]               every queue with its static members
  queue member add QUEUE INTERFACE [--penalty N] [--membername NAME]
  queue member set QUEUE INTERFACE [--penalty N] [--paused 0|1] [--membername NAME]
  queue member remove QUEUE INTERFACE
exit status: 0 done, 4 no such entry, 5 it exists already, 2 usage, 1 any other error.
`;

type Attrs = Array<{ type: string; values: string[] }>;

function attrs(l: Layout, family: string, cls: string[], id: string, cols: Record<string, string | undefined>): Attrs {
  const out: Attrs = [
    { type: 'objectClass', values: [...new Set([...cls, ...l.classes(family, cls[0]!).slice(1)])] },
    { type: 'cn', values: [id] },
  ];
  for (const [c, v] of Object.entries(cols)) if (v !== undefined && v !== '') out.push({ type: l.attr(family, c), values: [v] });
  return out;
}

async function addNew(client: DirectoryClient, dn: string, a: Attrs): Promise<void> {
  if (await client.read(dn)) throw new CommandError(EXIT.exists, `${dn} exists already`);
  await client.add(dn, a);
}

/**
 * Changes columns of an existing entry in one modify: a value replaces, '' removes the column
 * (undefined leaves it). Nothing to change is a usage error naming what could be given.
 */
async function setColumns(
  client: DirectoryClient,
  l: Layout,
  family: string,
  dn: string,
  cols: Record<string, string | undefined>,
  what: string,
): Promise<void> {
  const e = await client.read(dn);
  if (!e) throw new CommandError(EXIT.notFound, `no ${dn}`);
  if (Object.values(cols).every((v) => v === undefined)) throw new CommandError(EXIT.usage, `nothing to change: give ${what}`);
  const mods = columnChanges(l, family, e, cols);
  await client.modify(dn, mods);
}

async function removeExisting(client: DirectoryClient, dn: string): Promise<void> {
  if (!(await client.read(dn))) throw new CommandError(EXIT.notFound, `no ${dn}`);
  await client.del(dn);
}

const splitBox = (box: string) => {
  const at = box.indexOf('@');
  return at < 0 ? { mailbox: box, context: 'default' } : { mailbox: box.slice(0, at), context: box.slice(at + 1) };
};

export async function addMailbox(
  client: DirectoryClient,
  l: Layout,
  box: string,
  o: { password?: string; fullname?: string; email?: string },
): Promise<string> {
  const { mailbox, context } = splitBox(box);
  if (!o.password) throw new CommandError(EXIT.usage, 'mailbox add needs --password PIN');
  const id = mailboxId(mailbox, context);
  const dn = l.dn('voicemail', id);
  await addNew(
    client,
    dn,
    attrs(l, 'voicemail', VOICEMAIL_CLASSES, id, { context, mailbox, password: o.password, fullname: o.fullname, email: o.email }),
  );
  return dn;
}

export interface MailboxChanges {
  password?: string;
  fullname?: string;
  email?: string;
}

/** Changes a box in place (its PIN, name, address); the PIN cannot be removed, only replaced. */
export async function updateMailbox(client: DirectoryClient, l: Layout, box: string, c: MailboxChanges): Promise<string> {
  const { mailbox, context } = splitBox(box);
  if (c.password === '') throw new CommandError(EXIT.usage, 'a mailbox keeps a PIN: give a new one, not an empty one');
  const dn = l.dn('voicemail', mailboxId(mailbox, context));
  await setColumns(
    client,
    l,
    'voicemail',
    dn,
    { password: c.password, fullname: c.fullname, email: c.email },
    '--password, --fullname or --email',
  );
  return dn;
}

export async function removeMailbox(client: DirectoryClient, l: Layout, box: string): Promise<string> {
  const { mailbox, context } = splitBox(box);
  const dn = l.dn('voicemail', mailboxId(mailbox, context));
  await removeExisting(client, dn);
  return dn;
}

export async function addQueue(client: DirectoryClient, l: Layout, name: string, o: { strategy?: string }): Promise<string> {
  const dn = l.dn('queues', name);
  await addNew(client, dn, attrs(l, 'queues', QUEUE_CLASSES, name, { strategy: o.strategy ?? 'ringall' }));
  return dn;
}

export interface QueueChanges {
  strategy?: string;
  timeout?: string;
  musiconhold?: string;
}

/** Changes a queue's settings in place; its members stay. */
export async function updateQueue(client: DirectoryClient, l: Layout, name: string, c: QueueChanges): Promise<string> {
  if (c.strategy === '') throw new CommandError(EXIT.usage, 'a queue keeps a strategy: give one, not an empty one');
  const dn = l.dn('queues', name);
  await setColumns(
    client,
    l,
    'queues',
    dn,
    { strategy: c.strategy, timeout: c.timeout, musiconhold: c.musiconhold },
    '--strategy, --timeout or --musiconhold',
  );
  return dn;
}

/** The queue and every member entry naming it. */
export async function removeQueue(client: DirectoryClient, l: Layout, name: string): Promise<string[]> {
  const dn = l.dn('queues', name);
  if (!(await client.read(dn))) throw new CommandError(EXIT.notFound, `no queue ${name} (${dn})`);
  const cls = l.classes('queue_members', MEMBER_CLASSES[0]!);
  const members = await client.search(
    l.base('queue_members'),
    `(&(objectClass=${cls[cls.length - 1]})(${l.attr('queue_members', 'queue_name')}=${escapeFilter(name)}))`,
  );
  const dns = [...members.map((m) => m.dn), dn];
  await client.applyChanges(dns.map((d) => ({ op: 'delete', dn: d })));
  return dns;
}

export async function addMember(
  client: DirectoryClient,
  l: Layout,
  queue: string,
  iface: string,
  o: { penalty?: string; membername?: string },
): Promise<string> {
  if (!(await client.read(l.dn('queues', queue)))) throw new CommandError(EXIT.notFound, `no queue ${queue}`);
  const id = memberId(queue, iface);
  const dn = l.dn('queue_members', id);
  await addNew(
    client,
    dn,
    attrs(l, 'queue_members', MEMBER_CLASSES, id, {
      queue_name: queue,
      interface: iface,
      membername: o.membername ?? iface,
      state_interface: iface,
      penalty: o.penalty ?? '0',
      paused: '0',
    }),
  );
  return dn;
}

export interface MemberChanges {
  penalty?: string;
  paused?: string;
  membername?: string;
}

/** Changes a static member in place (penalty, paused, its name); its queue and interface are its identity. */
export async function updateMember(client: DirectoryClient, l: Layout, queue: string, iface: string, c: MemberChanges): Promise<string> {
  if (c.paused !== undefined && c.paused !== '0' && c.paused !== '1') throw new CommandError(EXIT.usage, '--paused is 0 or 1');
  if (c.penalty !== undefined && !/^\d{1,6}$/.test(c.penalty)) throw new CommandError(EXIT.usage, '--penalty is a whole number');
  const dn = l.dn('queue_members', memberId(queue, iface));
  await setColumns(
    client,
    l,
    'queue_members',
    dn,
    { penalty: c.penalty, paused: c.paused, membername: c.membername },
    '--penalty, --paused or --membername',
  );
  return dn;
}

export async function removeMember(client: DirectoryClient, l: Layout, queue: string, iface: string): Promise<string> {
  const dn = l.dn('queue_members', memberId(queue, iface));
  await removeExisting(client, dn);
  return dn;
}

const firstOf = (e: LdapEntry, attr: string) => e.attrs.get(attr.toLowerCase())?.[0];
const classFilter = (l: Layout, family: string, own: string) => `(objectClass=${l.classes(family, own).at(-1)})`;

/** Every mailbox (no PINs), by context and number. */
export async function listMailboxes(client: DirectoryClient, l: Layout): Promise<MailboxInfo[]> {
  const rows = await client.search(l.base('voicemail'), classFilter(l, 'voicemail', VOICEMAIL_CLASSES[1]!));
  return rows
    .map((e) => ({
      mailbox: firstOf(e, l.attr('voicemail', 'mailbox')) ?? '',
      context: firstOf(e, l.attr('voicemail', 'context')) ?? 'default',
      fullname: firstOf(e, l.attr('voicemail', 'fullname')),
      email: firstOf(e, l.attr('voicemail', 'email')),
      dn: e.dn,
    }))
    .sort((a, b) => a.context.localeCompare(b.context) || a.mailbox.localeCompare(b.mailbox, 'en', { numeric: true }));
}

/** Every queue with its static members. */
export async function listQueues(client: DirectoryClient, l: Layout): Promise<QueueInfo[]> {
  const queues = await client.search(l.base('queues'), classFilter(l, 'queues', QUEUE_CLASSES[0]!));
  const members = await client.search(l.base('queue_members'), classFilter(l, 'queue_members', MEMBER_CLASSES[0]!));
  const m = (c: string) => l.attr('queue_members', c);
  return queues
    .map((q) => {
      const name = firstOf(q, 'cn') ?? '';
      return {
        name,
        strategy: firstOf(q, l.attr('queues', 'strategy')),
        timeout: firstOf(q, l.attr('queues', 'timeout')),
        musiconhold: firstOf(q, l.attr('queues', 'musiconhold')),
        members: members
          .filter((x) => firstOf(x, m('queue_name')) === name)
          .map((x) => ({
            interface: firstOf(x, m('interface')) ?? '',
            membername: firstOf(x, m('membername')),
            penalty: firstOf(x, m('penalty')),
            paused: firstOf(x, m('paused')),
          })),
        dn: q.dn,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function formatListed(x: MailboxInfo | QueueInfo): string {
  if ('mailbox' in x) return `${`${x.mailbox}@${x.context}`.padEnd(20)} ${x.fullname ?? ''}${x.email ? ` <${x.email}>` : ''}\n`;
  return `${x.name.padEnd(16)} ${(x.strategy ?? '').padEnd(12)} ${x.members.map((m) => m.interface).join(', ')}\n`;
}

export async function mailboxQueueCommand(
  kind: 'mailbox' | 'queue',
  args: string[],
  v: Values,
  conn: ConnectOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const key = [kind, args[0], args[0] === 'member' ? args[1] : undefined].filter(Boolean).join(' ');
  const operands = args.slice(args[0] === 'member' ? 2 : 1);
  const arity: Record<string, number> = {
    'mailbox add': 1,
    'mailbox set': 1,
    'mailbox remove': 1,
    'mailbox list': 0,
    'queue list': 0,
    'queue add': 1,
    'queue set': 1,
    'queue remove': 1,
    'queue member add': 2,
    'queue member set': 2,
    'queue member remove': 2,
  };
  if (arity[key] === undefined || operands.length !== arity[key]) {
    err.write(`astldap asterisk ${kind}: unexpected "${args.join(' ')}"\n${MAILBOX_QUEUE_USAGE}`);
    return EXIT.usage;
  }
  const l = layoutOf(v);
  const [a, b] = operands as [string, string];
  return withClient(key, conn, err, async (client) => {
    if (key === 'mailbox list' || key === 'queue list') {
      const list = key === 'mailbox list' ? await listMailboxes(client, l) : await listQueues(client, l);
      out.write(v.json ? JSON.stringify(list, null, 2) + '\n' : list.map(formatListed).join(''));
      return;
    }
    let done: string | string[];
    if (key === 'mailbox add')
      done = await addMailbox(client, l, a, { password: str(v, 'password'), fullname: str(v, 'fullname'), email: str(v, 'email') });
    else if (key === 'mailbox set')
      done = await updateMailbox(client, l, a, { password: str(v, 'password'), fullname: str(v, 'fullname'), email: str(v, 'email') });
    else if (key === 'mailbox remove') done = await removeMailbox(client, l, a);
    else if (key === 'queue set')
      done = await updateQueue(client, l, a, {
        strategy: str(v, 'strategy'),
        timeout: str(v, 'timeout'),
        musiconhold: str(v, 'musiconhold'),
      });
    else if (key === 'queue member set')
      done = await updateMember(client, l, a, b, {
        penalty: str(v, 'penalty'),
        paused: str(v, 'paused'),
        membername: str(v, 'membername'),
      });
    else if (key === 'queue add') done = await addQueue(client, l, a, { strategy: str(v, 'strategy') });
    else if (key === 'queue remove') done = await removeQueue(client, l, a);
    else if (key === 'queue member add')
      done = await addMember(client, l, a, b, { penalty: str(v, 'penalty'), membername: str(v, 'membername') });
    else done = await removeMember(client, l, a, b);
    out.write(`${key.endsWith('remove') ? 'removed' : key.endsWith('set') ? 'changed' : 'added'} ${[done].flat().join(', ')}\n`);
  });
}
