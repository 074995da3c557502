// Day-to-day PJSIP endpoint work against a running directory, as an LDAP client: an endpoint is
// three sorcery objects of one name (endpoint, auth, aor), added, changed and removed together,
// as one LDAP transaction where the server offers them (else taken back on a failure).
// Attribute names come from res_ldap.conf and bases from extconfig.conf, as for convert. The
// registration state is read from the contacts Asterisk writes back (ps_contacts), if any.

import { randomBytes } from 'node:crypto';
import type { ConnectOptions, DirectoryClient, EntryChange, LdapEntry, Modification } from './ldap-client.js';
import { md5hex } from './model.js';
import { CommandError, EXIT, layoutOf, withClient, type Layout, type Values } from './session.js';
import type { EndpointInfo } from './rows.js';

export { EXIT };

export const ENDPOINT_USAGE = `endpoint commands (each takes CONNECTION, and --res-ldap/--extconfig as convert does):
  endpoint add NAME [--password P | --generate] [--context C] [--codecs ulaw,alaw]
               [--max-contacts N] [--callerid '"Name" <NAME>'] [--realm R] [--template EP]
                        endpoint, auth (md5_cred) and aor NAME; --generate prints the password;
                        --template copies endpoint EP's settings and its aor's
  endpoint list [--json]            every endpoint, with its contacts (registration state)
  endpoint show NAME [--json]       one endpoint, its aor and auth (no secrets)
  endpoint set NAME [--context C] [--codecs ..] [--callerid ..] [--max-contacts N]
                                    change settings (an empty --callerid '' removes it)
  endpoint passwd NAME [--password P | --generate]   a new password (md5_cred or userpass)
  endpoint remove NAME              endpoint, auth and aor NAME
exit status: 0 done, 4 no such endpoint, 5 it exists already, 2 usage, 1 any other error.
`;

export interface EndpointSpec {
  name: string;
  password?: string;
  context?: string;
  codecs?: string;
  maxContacts?: string;
  callerid?: string;
  realm?: string;
  /** An existing endpoint whose settings (and its aor's) the new one copies. */
  template?: string;
}

export const generatePassword = (): string => randomBytes(18).toString('base64url');

/** The realm md5_cred is computed with: pjsip.conf's [global] default_realm in the directory, else asterisk. */
async function defaultRealm(client: DirectoryClient, l: Layout): Promise<string> {
  if (!l.ext.has('pjsip.conf')) return 'asterisk';
  const f = (c: string) => l.attr('pjsip.conf', c);
  const rows = await client.search(l.base('pjsip.conf'), `(&(${f('filename')}=pjsip.conf)(${f('variable_name')}=default_realm))`);
  return rows[0]?.attrs.get(f('variable_value').toLowerCase())?.[0] ?? 'asterisk';
}

type AttrList = Array<{ type: string; values: string[] }>;

/** Attributes of family entry `name` that its table maps, minus the columns in skip (for --template). */
async function templateAttrs(client: DirectoryClient, l: Layout, family: string, name: string, skip: string[]): Promise<AttrList> {
  const e = await client.read(l.dn(family, name));
  if (!e) throw new CommandError(EXIT.notFound, `no template ${l.dn(family, name)}`);
  const table = l.ext.binding(family).table;
  const skipped = new Set([...skip.map((c) => l.attr(family, c).toLowerCase()), 'cn']);
  return l.mapping
    .attributes(table)
    .filter((a) => !skipped.has(a.toLowerCase()) && e.attrs.has(a.toLowerCase()))
    .map((a) => ({ type: e.names.get(a.toLowerCase()) ?? a, values: e.attrs.get(a.toLowerCase())! }));
}

/** base with each of over replacing the attribute of its name. */
function overlay(base: AttrList, over: AttrList): AttrList {
  const names = new Set(over.map((a) => a.type.toLowerCase()));
  return [...base.filter((a) => !names.has(a.type.toLowerCase())), ...over];
}

export async function addEndpoint(client: DirectoryClient, l: Layout, spec: EndpointSpec): Promise<void> {
  const { name } = spec;
  for (const f of ['ps_endpoints', 'ps_auths', 'ps_aors']) {
    if (await client.read(l.dn(f, name))) throw new CommandError(EXIT.exists, `${l.dn(f, name)} exists already`);
  }
  if (!spec.password) throw new CommandError(EXIT.usage, 'endpoint add needs --password P or --generate');
  const realm = spec.realm ?? (await defaultRealm(client, l));
  const a = (f: string, c: string, v: string | string[] | undefined) =>
    v === undefined ? [] : [{ type: l.attr(f, c), values: Array.isArray(v) ? v : [v] }];
  // A template endpoint (and its first aor) gives every setting but the names and the caller ID.
  const tpl = spec.template;
  const tplAor = tpl
    ? (await client.read(l.dn('ps_endpoints', tpl)))?.attrs.get(l.attr('ps_endpoints', 'aors').toLowerCase())?.[0]?.split(',')[0]?.trim()
    : undefined;
  const epBase = tpl ? await templateAttrs(client, l, 'ps_endpoints', tpl, ['aors', 'auth', 'outbound_auth', 'callerid', 'mailboxes']) : [];
  const aorBase = tplAor ? await templateAttrs(client, l, 'ps_aors', tplAor, ['contact', 'mailboxes']) : [];
  const or = (v: string | undefined, dflt: string) => v ?? (tpl ? undefined : dflt);
  const auth = [
    { type: 'objectClass', values: l.classes('ps_auths', 'AstldapPjsipAuth') },
    { type: 'cn', values: [name] },
    ...a('ps_auths', 'auth_type', 'md5'),
    ...a('ps_auths', 'username', name),
    ...a('ps_auths', 'realm', realm),
    ...a('ps_auths', 'md5_cred', md5hex(`${name}:${realm}:${spec.password}`)),
  ];
  const aor = overlay(aorBase, [
    { type: 'objectClass', values: l.classes('ps_aors', 'AstldapPjsipAor') },
    { type: 'cn', values: [name] },
    ...a('ps_aors', 'max_contacts', or(spec.maxContacts, '1')),
    ...a('ps_aors', 'remove_existing', or(undefined, 'yes')),
  ]);
  const endpoint = overlay(epBase, [
    { type: 'objectClass', values: l.classes('ps_endpoints', 'AstldapPjsipEndpoint') },
    { type: 'cn', values: [name] },
    ...a('ps_endpoints', 'context', or(spec.context, 'default')),
    ...a('ps_endpoints', 'disallow', spec.codecs || !tpl ? 'all' : undefined),
    ...a('ps_endpoints', 'allow', or(spec.codecs, 'ulaw,alaw')),
    ...a('ps_endpoints', 'auth', name),
    ...a('ps_endpoints', 'aors', name),
    ...a('ps_endpoints', 'callerid', spec.callerid),
  ]);
  // The endpoint is the three objects or none.
  await client.applyChanges([
    { op: 'add', dn: l.dn('ps_auths', name), attributes: auth },
    { op: 'add', dn: l.dn('ps_aors', name), attributes: aor },
    { op: 'add', dn: l.dn('ps_endpoints', name), attributes: endpoint },
  ]);
}

const first = (e: LdapEntry | undefined, attr: string) => e?.attrs.get(attr.toLowerCase())?.[0];
const all = (e: LdapEntry | undefined, attr: string) =>
  (e?.attrs.get(attr.toLowerCase()) ?? [])
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);

/** Contact URIs per AOR name, from ps_contacts (ids are "aor;@hash"). */
async function contactsByAor(client: DirectoryClient, l: Layout): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!l.ext.has('ps_contacts')) return out;
  const cls = l.classes('ps_contacts', 'AstldapPjsipContact')[1] ?? 'AstldapPjsipContact';
  for (const c of await client.search(l.base('ps_contacts'), `(objectClass=${cls})`, 'sub', ['cn', l.attr('ps_contacts', 'uri')])) {
    const id = first(c, 'cn') ?? '';
    const aor = id.split(';@')[0]!;
    const uri = first(c, l.attr('ps_contacts', 'uri')) ?? id;
    out.set(aor, [...(out.get(aor) ?? []), uri]);
  }
  return out;
}

function info(
  l: Layout,
  ep: LdapEntry,
  auth: LdapEntry | undefined,
  aor: LdapEntry | undefined,
  contacts: Map<string, string[]>,
): EndpointInfo {
  const name = first(ep, 'cn')!;
  const aors = all(ep, l.attr('ps_endpoints', 'aors'));
  const found = aors.flatMap((a) => contacts.get(a) ?? []);
  return {
    name,
    context: first(ep, l.attr('ps_endpoints', 'context')),
    aors,
    auth: first(ep, l.attr('ps_endpoints', 'auth')),
    callerid: first(ep, l.attr('ps_endpoints', 'callerid')),
    authType: first(auth, l.attr('ps_auths', 'auth_type')),
    username: first(auth, l.attr('ps_auths', 'username')),
    realm: first(auth, l.attr('ps_auths', 'realm')),
    maxContacts: first(aor, l.attr('ps_aors', 'max_contacts')),
    contacts: found,
    state: found.length ? 'registered' : 'unregistered',
  };
}

export async function listEndpoints(client: DirectoryClient, l: Layout): Promise<EndpointInfo[]> {
  const cls = l.classes('ps_endpoints', 'AstldapPjsipEndpoint');
  // Only the columns a listing shows: at 10k endpoints decoding every attribute is most of its time.
  const columns = ['context', 'aors', 'auth', 'callerid'].map((c) => l.attr('ps_endpoints', c));
  const eps = await client.search(l.base('ps_endpoints'), `(objectClass=${cls[1] ?? cls[0]})`, 'sub', ['cn', ...columns]);
  const contacts = await contactsByAor(client, l);
  return eps.map((ep) => info(l, ep, undefined, undefined, contacts)).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

export async function showEndpoint(client: DirectoryClient, l: Layout, name: string): Promise<EndpointInfo> {
  const ep = await client.read(l.dn('ps_endpoints', name));
  if (!ep) throw new CommandError(EXIT.notFound, `no endpoint ${name} (${l.dn('ps_endpoints', name)})`);
  const authName = first(ep, l.attr('ps_endpoints', 'auth'))?.split(',')[0]?.trim();
  const aorName = all(ep, l.attr('ps_endpoints', 'aors'))[0];
  const auth = authName ? await client.read(l.dn('ps_auths', authName)) : undefined;
  const aor = aorName ? await client.read(l.dn('ps_aors', aorName)) : undefined;
  return info(l, ep, auth, aor, await contactsByAor(client, l));
}

/** A new password for the endpoint's auth: md5_cred for an md5 auth, the password for userpass. */
export async function setEndpointPassword(client: DirectoryClient, l: Layout, name: string, password: string): Promise<void> {
  const ep = await client.read(l.dn('ps_endpoints', name));
  if (!ep) throw new CommandError(EXIT.notFound, `no endpoint ${name} (${l.dn('ps_endpoints', name)})`);
  const authName = first(ep, l.attr('ps_endpoints', 'auth'))?.split(',')[0]?.trim() ?? name;
  const dn = l.dn('ps_auths', authName);
  const auth = await client.read(dn);
  if (!auth) throw new CommandError(EXIT.notFound, `endpoint ${name} names auth ${authName}, which does not exist (${dn})`);
  const type = (first(auth, l.attr('ps_auths', 'auth_type')) ?? 'userpass').toLowerCase();
  if (type === 'userpass') {
    await client.modify(dn, [{ operation: 'replace', type: l.attr('ps_auths', 'password'), values: [password] }]);
    return;
  }
  const username = first(auth, l.attr('ps_auths', 'username')) ?? name;
  const realm = first(auth, l.attr('ps_auths', 'realm')) ?? (await defaultRealm(client, l));
  await client.modify(dn, [
    { operation: 'replace', type: l.attr('ps_auths', 'realm'), values: [realm] },
    { operation: 'replace', type: l.attr('ps_auths', 'md5_cred'), values: [md5hex(`${username}:${realm}:${password}`)] },
  ]);
}

export interface EndpointChanges {
  context?: string;
  codecs?: string;
  callerid?: string;
  maxContacts?: string;
}

/** Changes settings of an endpoint (and the max_contacts of its first aor); an empty callerid removes it. */
export async function updateEndpoint(client: DirectoryClient, l: Layout, name: string, c: EndpointChanges): Promise<void> {
  const dn = l.dn('ps_endpoints', name);
  const ep = await client.read(dn);
  if (!ep) throw new CommandError(EXIT.notFound, `no endpoint ${name} (${dn})`);
  const mods: Modification[] = [];
  const put = (column: string, v: string | undefined) => {
    if (v === undefined) return;
    const type = l.attr('ps_endpoints', column);
    if (v !== '') mods.push({ operation: 'replace', type, values: [v] });
    else if (ep.attrs.has(type.toLowerCase())) mods.push({ operation: 'delete', type, values: [] });
  };
  put('context', c.context);
  if (c.codecs !== undefined) put('disallow', 'all');
  put('allow', c.codecs);
  put('callerid', c.callerid);
  if (!mods.length && c.maxContacts === undefined)
    throw new CommandError(EXIT.usage, 'nothing to change: give --context, --codecs, --callerid or --max-contacts');
  const changes: EntryChange[] = mods.length ? [{ op: 'modify', dn, mods }] : [];
  if (c.maxContacts !== undefined) {
    const aor = all(ep, l.attr('ps_endpoints', 'aors'))[0];
    if (!aor) throw new CommandError(EXIT.notFound, `endpoint ${name} has no aor`);
    const max: Modification = { operation: 'replace', type: l.attr('ps_aors', 'max_contacts'), values: [c.maxContacts] };
    changes.push({ op: 'modify', dn: l.dn('ps_aors', aor), mods: [max] });
  }
  await client.applyChanges(changes);
}

export async function removeEndpoint(client: DirectoryClient, l: Layout, name: string): Promise<string[]> {
  const dns = ['ps_endpoints', 'ps_auths', 'ps_aors'].map((f) => l.dn(f, name));
  const present: string[] = [];
  for (const dn of dns) if (await client.read(dn)) present.push(dn);
  if (!present.length) throw new CommandError(EXIT.notFound, `no endpoint, auth or aor ${name}`);
  await client.applyChanges(present.map((dn): EntryChange => ({ op: 'delete', dn })));
  return present;
}

function formatInfo(e: EndpointInfo): string {
  const rows: Array<[string, string | undefined]> = [
    ['endpoint', e.name],
    ['context', e.context],
    ['callerid', e.callerid],
    ['aors', e.aors.join(',')],
    ['max_contacts', e.maxContacts],
    ['auth', e.auth],
    ['auth_type', e.authType],
    ['username', e.username],
    ['realm', e.realm],
    ['state', e.state],
    ...e.contacts.map((c): [string, string] => ['contact', c]),
  ];
  return rows
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k.padEnd(13)}${v}`)
    .join('\n');
}

/** `astldap asterisk endpoint SUB ...`. */
export async function endpointCommand(
  args: string[],
  v: Values,
  conn: ConnectOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const [sub, name, ...extra] = args;
  const needsName = sub !== 'list';
  if (
    !sub ||
    !['add', 'list', 'show', 'set', 'passwd', 'remove'].includes(sub) ||
    (needsName && !name) ||
    extra.length ||
    (!needsName && name)
  ) {
    err.write(`astldap asterisk endpoint: expected add|show|set|passwd|remove NAME or list\n${ENDPOINT_USAGE}`);
    return EXIT.usage;
  }
  if ((sub === 'add' || sub === 'passwd') && v.password !== undefined && v.generate) {
    err.write('astldap asterisk endpoint: --password and --generate exclude each other\n');
    return EXIT.usage;
  }
  const layout = layoutOf(v);
  return withClient(`endpoint ${sub}`, conn, err, async (client) => {
    const generated =
      (sub === 'add' || sub === 'passwd') && (v.generate || (sub === 'passwd' && v.password === undefined))
        ? generatePassword()
        : undefined;
    const password = generated ?? (v.password as string | undefined);
    switch (sub) {
      case 'add':
        await addEndpoint(client, layout, {
          name: name!,
          password,
          context: v.context as string | undefined,
          codecs: v.codecs as string | undefined,
          maxContacts: v['max-contacts'] as string | undefined,
          callerid: v.callerid as string | undefined,
          realm: v.realm as string | undefined,
          template: v.template as string | undefined,
        });
        out.write(generated ? `added endpoint ${name}; password: ${generated}\n` : `added endpoint ${name}\n`);
        break;
      case 'set':
        await updateEndpoint(client, layout, name!, {
          context: v.context as string | undefined,
          codecs: v.codecs as string | undefined,
          callerid: v.callerid as string | undefined,
          maxContacts: v['max-contacts'] as string | undefined,
        });
        out.write(`changed endpoint ${name}\n`);
        break;
      case 'passwd':
        await setEndpointPassword(client, layout, name!, password!);
        out.write(generated ? `new password for ${name}: ${generated}\n` : `password of ${name} changed\n`);
        break;
      case 'remove':
        out.write(`removed ${(await removeEndpoint(client, layout, name!)).join(', ')}\n`);
        break;
      case 'show': {
        const e = await showEndpoint(client, layout, name!);
        out.write(v.json ? JSON.stringify(e, null, 2) + '\n' : formatInfo(e) + '\n');
        break;
      }
      case 'list': {
        const list = await listEndpoints(client, layout);
        if (v.json) out.write(JSON.stringify(list, null, 2) + '\n');
        else
          for (const e of list)
            out.write(`${e.name.padEnd(16)} ${(e.context ?? '').padEnd(14)} ${e.state.padEnd(12)} ${e.contacts.length} contact(s)\n`);
        break;
      }
    }
  });
}
