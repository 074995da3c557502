// The realtime dialplan against a running directory, as an LDAP client: the rows pbx_realtime
// reads (context, exten, priority, app, appdata), laid out as convert lays them out (one entry
// per priority, cn EXTEN-PRIORITY[@CONTEXT]), so a row added here and one converted from
// extensions.conf are the same thing. One entry per operation.

import { DIALPLAN_CLASSES } from './convert-dialplan.js';
import { escapeFilter, type ConnectOptions, type DirectoryClient, type LdapEntry } from './ldap-client.js';
import { CommandError, EXIT, layoutOf, stringOption as str, withClient, type Layout, type Values } from './session.js';
import type { DialplanRow } from './rows.js';

export const DIALPLAN_USAGE = `dialplan commands (CONNECTION as for endpoint; realtime rows of the extensions family):
  dialplan list [--context C] [--json]   every row, by context, extension and priority
  dialplan add CONTEXT EXTEN PRIORITY --app APP [--appdata DATA]
  dialplan set CONTEXT EXTEN PRIORITY [--app APP] [--appdata DATA]   ('' removes the data)
  dialplan remove CONTEXT EXTEN PRIORITY
exit status: 0 done, 4 no such row, 5 it exists already, 2 usage, 1 any other error.
`;

/** A row's cn, as convert names it: the default context is left out. */
export const dialplanId = (context: string, exten: string, priority: string): string =>
  `${exten}-${priority}${context === 'default' ? '' : `@${context}`}`;

const COLUMNS = ['context', 'exten', 'priority', 'app', 'appdata'] as const;
const EXTEN = /^[_A-Za-z0-9*#+.!\-[\]]{1,80}$/;
const CONTEXT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;
const COLLATOR = new Intl.Collator('en', { numeric: true });

function check(context: string, exten: string, priority: string): void {
  if (!CONTEXT.test(context)) throw new CommandError(EXIT.usage, `a context is letters, digits and _.-: "${context}"`);
  if (!EXTEN.test(exten)) throw new CommandError(EXIT.usage, `an extension is digits, letters or a pattern (_X.): "${exten}"`);
  if (!/^[1-9]\d{0,5}$/.test(priority)) throw new CommandError(EXIT.usage, `a realtime priority is a number from 1: "${priority}"`);
}

/** The row's entry: found by its columns (a site's own naming too), else where convert would put it. */
async function findRow(
  client: DirectoryClient,
  l: Layout,
  context: string,
  exten: string,
  priority: string,
): Promise<LdapEntry | undefined> {
  const a = (c: string) => l.attr('extensions', c);
  const rows = await client.search(
    l.base('extensions'),
    `(&${classFilter(l)}(${a('context')}=${escapeFilter(context)})(${a('exten')}=${escapeFilter(exten)})(${a('priority')}=${escapeFilter(priority)}))`,
  );
  return rows[0];
}

const classFilter = (l: Layout) => `(objectClass=${l.classes('extensions', DIALPLAN_CLASSES[1]!).at(-1)})`;

export async function listDialplan(client: DirectoryClient, l: Layout, context?: string): Promise<DialplanRow[]> {
  const a = (c: string) => l.attr('extensions', c);
  const attrs = COLUMNS.map(a);
  const filter = context ? `(&${classFilter(l)}(${a('context')}=${escapeFilter(context)}))` : classFilter(l);
  const rows = await client.search(l.base('extensions'), filter, 'sub', attrs);
  const col = (e: LdapEntry, c: string) => e.attrs.get(a(c).toLowerCase())?.[0];
  return rows
    .map((e) => ({
      context: col(e, 'context') ?? '',
      exten: col(e, 'exten') ?? '',
      priority: col(e, 'priority') ?? '',
      app: col(e, 'app') ?? '',
      appdata: col(e, 'appdata'),
      dn: e.dn,
    }))
    .sort(
      (x, y) => COLLATOR.compare(x.context, y.context) || COLLATOR.compare(x.exten, y.exten) || Number(x.priority) - Number(y.priority),
    );
}

export async function addDialplanRow(
  client: DirectoryClient,
  l: Layout,
  row: { context: string; exten: string; priority: string; app: string; appdata?: string },
): Promise<string> {
  check(row.context, row.exten, row.priority);
  if (!row.app) throw new CommandError(EXIT.usage, 'a dialplan row needs --app');
  if (await findRow(client, l, row.context, row.exten, row.priority))
    throw new CommandError(EXIT.exists, `${row.exten},${row.priority}@${row.context} exists already`);
  const id = dialplanId(row.context, row.exten, row.priority);
  const dn = l.dn('extensions', id);
  const attrs = [
    { type: 'objectClass', values: l.classes('extensions', DIALPLAN_CLASSES[0]!) },
    { type: 'cn', values: [id] },
    ...COLUMNS.filter((c) => row[c] !== undefined && row[c] !== '').map((c) => ({ type: l.attr('extensions', c), values: [row[c]!] })),
  ];
  await client.add(dn, attrs);
  return dn;
}

/** Changes a row's application and its data in place ('' removes the data). */
export async function updateDialplanRow(
  client: DirectoryClient,
  l: Layout,
  context: string,
  exten: string,
  priority: string,
  c: { app?: string; appdata?: string },
): Promise<string> {
  check(context, exten, priority);
  if (c.app === undefined && c.appdata === undefined) throw new CommandError(EXIT.usage, 'nothing to change: give --app or --appdata');
  if (c.app === '') throw new CommandError(EXIT.usage, 'a dialplan row keeps an application');
  const e = await findRow(client, l, context, exten, priority);
  if (!e) throw new CommandError(EXIT.notFound, `no dialplan row ${exten},${priority}@${context}`);
  const app = l.attr('extensions', 'app');
  const data = l.attr('extensions', 'appdata');
  await client.modify(e.dn, [
    ...(c.app !== undefined ? [{ operation: 'replace' as const, type: app, values: [c.app] }] : []),
    ...(c.appdata !== undefined && c.appdata !== '' ? [{ operation: 'replace' as const, type: data, values: [c.appdata] }] : []),
    ...(c.appdata === '' && e.attrs.has(data.toLowerCase()) ? [{ operation: 'delete' as const, type: data, values: [] }] : []),
  ]);
  return e.dn;
}

export async function removeDialplanRow(
  client: DirectoryClient,
  l: Layout,
  context: string,
  exten: string,
  priority: string,
): Promise<string> {
  check(context, exten, priority);
  const e = await findRow(client, l, context, exten, priority);
  if (!e) throw new CommandError(EXIT.notFound, `no dialplan row ${exten},${priority}@${context}`);
  await client.del(e.dn);
  return e.dn;
}

export async function dialplanCommand(
  args: string[],
  v: Values,
  conn: ConnectOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const [sub, ...operands] = args;
  const arity: Record<string, number> = { list: 0, add: 3, set: 3, remove: 3 };
  if (!sub || arity[sub] === undefined || operands.length !== arity[sub]) {
    err.write(`astldap asterisk dialplan: unexpected "${args.join(' ')}"\n${DIALPLAN_USAGE}`);
    return EXIT.usage;
  }
  const l = layoutOf(v);
  const [context, exten, priority] = operands as [string, string, string];
  return withClient(`dialplan ${sub}`, conn, err, async (client) => {
    if (sub === 'list') {
      const rows = await listDialplan(client, l, str(v, 'context'));
      out.write(
        v.json
          ? JSON.stringify(rows, null, 2) + '\n'
          : rows.map((r) => `[${r.context}] exten => ${r.exten},${r.priority},${r.app}(${r.appdata ?? ''})\n`).join(''),
      );
      return;
    }
    let dn: string;
    if (sub === 'add')
      dn = await addDialplanRow(client, l, { context, exten, priority, app: str(v, 'app') ?? '', appdata: str(v, 'appdata') });
    else if (sub === 'set')
      dn = await updateDialplanRow(client, l, context, exten, priority, { app: str(v, 'app'), appdata: str(v, 'appdata') });
    else dn = await removeDialplanRow(client, l, context, exten, priority);
    out.write(`${sub === 'add' ? 'added' : sub === 'set' ? 'changed' : 'removed'} ${dn}\n`);
  });
}
