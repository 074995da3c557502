// The console's pages that work over the session's own LDAP connection: Endpoints (through
// src/asterisk/endpoints.ts, the one implementation the endpoint CLI uses too) and Directory
// (tree, entry, modify). The directory's access rules decide; its errors are shown as sent.

import type { HttpResponse } from '../admin/index.js';
import {
  addEndpoint,
  generatePassword,
  listEndpoints,
  removeEndpoint,
  setEndpointPassword,
  showEndpoint,
  updateEndpoint,
} from '../asterisk/endpoints.js';
import { describeError, resultCode, type DirectoryClient, type Modification } from '../asterisk/ldap-client.js';
import { formatLdifEntry } from '../ldif/ldif.js';
import { layout, refused } from './ldap-common.js';
import { PBX_HEADS, pbxRoute, type PbxHead } from './pbx-routes.js';
import { readSchema } from './schema-browser.js';
import { tableQuery, type TableCache } from './table.js';
import type { AttributeInfo, EndpointInfo } from './types.js';
import { failure, json, str } from './web.js';

/** Children shown of one node of the tree (the rest: narrow down with a search). */
const TREE_LIMIT = 1000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,79}$/;

/** A path segment percent-decoded; a malformed one stays as sent (and matches no name). */
const decodeSegment = (seg: string): string => {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
};

export interface ConsoleRequest {
  method: string;
  api: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** The session's kept listings. */
  tables: TableCache;
}

/** The endpoint table's columns, as the page names them (search looks in all, sort by one). */
const ENDPOINT_COLUMNS = ['name', 'context', 'auth', 'aors', 'state', 'contacts'] as const;
const endpointCell = (e: EndpointInfo, c: string): string =>
  c === 'aors' ? e.aors.join(', ') : c === 'contacts' ? e.contacts.join(', ') : String(e[c as 'name'] ?? '');

export async function ldapRoute(
  client: DirectoryClient,
  describe: (name: string) => AttributeInfo | undefined,
  req: ConsoleRequest,
): Promise<HttpResponse | undefined> {
  const { method, api, query, body } = req;
  try {
    if (api === 'schema' && method === 'GET') {
      const info = describe(query.get('attr') ?? '');
      return info ? json(200, info) : failure(404, `no attribute type ${query.get('attr') ?? ''} in the schema`);
    }
    if (api === 'subschema' && method === 'GET') {
      const schema = await readSchema(client);
      return schema ? json(200, schema) : failure(404, 'the subschema entry is not readable by this identity');
    }
    if (api === 'endpoints' || api.startsWith('endpoints/')) return await endpoints(client, req, api.split('/').slice(1));
    const [head, ...rest] = api.split('/');
    if (PBX_HEADS.includes(head!)) return await pbxRoute(client, method, head as PbxHead, rest.map(decodeSegment), body);
    if (api === 'tree' && method === 'GET') return await tree(client, query.get('dn') ?? '');
    if (api === 'entry' && method === 'GET') {
      const e = await client.read(query.get('dn') ?? '');
      if (!e) return failure(404, 'no such entry');
      // ldapts lists each requested name ('*') the entry lacks, with no values: not an attribute.
      const attributes = [...e.attrs]
        .filter(([, v]) => v.length)
        .map(([k, values]) => ({ type: e.names.get(k) ?? k, values, schema: describe(k) }));
      return json(200, { dn: e.dn, attributes });
    }
    if (api === 'entry' && method === 'POST') return await modifyEntry(client, body);
    if (api === 'ldif' && method === 'GET') return await ldif(client, query.get('dn') ?? '', query.get('scope') === 'sub' ? 'sub' : 'base');
  } catch (e) {
    return refused(e);
  }
  return undefined;
}

async function endpoints(client: DirectoryClient, req: ConsoleRequest, rest: string[]): Promise<HttpResponse | undefined> {
  const { method, body } = req;
  const l = layout();
  const [name, sub] = rest;
  if (name !== undefined && !NAME.test(name)) return failure(400, 'an endpoint name is letters, digits and ._@+-');
  if (name === undefined) {
    if (method === 'GET') {
      const q = tableQuery(req.query, ENDPOINT_COLUMNS);
      const list = (): Promise<EndpointInfo[]> => listEndpoints(client, l);
      return json(200, await req.tables.page('endpoints', q, list, endpointCell, ENDPOINT_COLUMNS));
    }
    if (method !== 'POST') return undefined;
    const n = str(body.name);
    if (!n || !NAME.test(n)) return failure(400, 'an endpoint name is letters, digits and ._@+-');
    const generated = body.generate === true || !str(body.password) ? generatePassword() : undefined;
    try {
      await addEndpoint(client, l, {
        name: n,
        password: generated ?? str(body.password),
        context: str(body.context),
        codecs: str(body.codecs),
        maxContacts: str(body.maxContacts),
        callerid: str(body.callerid),
      });
    } catch (e) {
      if (resultCode(e) !== 32) throw e;
      const bases = ['ps_endpoints', 'ps_auths', 'ps_aors'].map((f) => l.base(f)).join(', ');
      return json(404, {
        error: `${describeError(e)}: the containers ${bases} must exist (astldap asterisk convert makes them)`,
        code: 32,
      });
    }
    return json(201, { endpoint: await showEndpoint(client, l, n), ...(generated ? { password: generated } : {}) });
  }
  if (sub === undefined && method === 'GET') return json(200, { endpoint: await showEndpoint(client, l, name) });
  if (sub === undefined && method === 'POST') {
    // Given fields change (an empty caller ID removes it); absent ones stay.
    const opt = (v: unknown) => (typeof v === 'string' ? v.trim() : undefined);
    await updateEndpoint(client, l, name, {
      context: opt(body.context) || undefined,
      codecs: opt(body.codecs) || undefined,
      callerid: opt(body.callerid),
      maxContacts: opt(body.maxContacts) || undefined,
    });
    return json(200, { endpoint: await showEndpoint(client, l, name) });
  }
  if (sub === undefined && method === 'DELETE') return json(200, { removed: await removeEndpoint(client, l, name) });
  if (sub === 'password' && method === 'POST') {
    const generated = body.generate === true || !str(body.password) ? generatePassword() : undefined;
    await setEndpointPassword(client, l, name, generated ?? str(body.password)!);
    return json(200, { ok: true, ...(generated ? { password: generated } : {}) });
  }
  return undefined;
}

async function tree(client: DirectoryClient, dn: string): Promise<HttpResponse> {
  let children;
  try {
    children = await client.search(dn, '(objectClass=*)', 'one');
  } catch (e) {
    // Size limit exceeded (4) for an identity with a limit: show that, not an empty node.
    if (resultCode(e) === 4) return json(200, { dn, children: [], truncated: true });
    throw e;
  }
  const rows = children
    .map((c) => ({ dn: c.dn, rdn: c.dn.split(/(?<!\\),/)[0]!, classes: c.attrs.get('objectclass') ?? [] }))
    .sort((a, b) => a.rdn.localeCompare(b.rdn, 'en', { numeric: true }));
  return json(200, { dn, children: rows.slice(0, TREE_LIMIT), truncated: rows.length > TREE_LIMIT });
}

const OPS = new Set(['add', 'delete', 'replace']);

async function modifyEntry(client: DirectoryClient, body: Record<string, unknown>): Promise<HttpResponse> {
  const dn = str(body.dn);
  const changes = body.changes;
  if (!dn || !Array.isArray(changes)) return failure(400, 'give dn and changes');
  const mods: Modification[] = [];
  for (const c of changes as Array<Record<string, unknown>>) {
    const values = Array.isArray(c?.values) ? c.values : [];
    if (!OPS.has(String(c?.operation)) || !str(c?.type) || values.some((v) => typeof v !== 'string')) {
      return failure(400, 'each change is { operation: add|delete|replace, type, values: [strings] }');
    }
    mods.push({ operation: c.operation as Modification['operation'], type: c.type as string, values: values as string[] });
  }
  await client.modify(dn, mods);
  return json(200, { ok: true });
}

/** An entry or a subtree as LDIF, as this identity may read it (a download: attachment, never cached). */
async function ldif(client: DirectoryClient, dn: string, scope: 'base' | 'sub'): Promise<HttpResponse> {
  const entries = await client.search(dn, '(objectClass=*)', scope);
  if (!entries.length) return failure(404, 'no such entry');
  // Parents first, as ldapadd needs them.
  entries.sort((a, b) => a.dn.split(/(?<!\\),/).length - b.dn.split(/(?<!\\),/).length);
  const text = entries
    .map((e) =>
      formatLdifEntry(
        e.dn,
        [...e.attrs].filter(([, v]) => v.length).map(([k, values]) => ({ type: e.names.get(k) ?? k, values })),
      ),
    )
    .join('\n');
  const file = (/^[^=]+=([^,]+)/.exec(dn)?.[1] ?? 'entry').replace(/[^A-Za-z0-9._-]/g, '_');
  return {
    status: 200,
    raw: text,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Disposition': `attachment; filename="${file}${scope === 'sub' ? '-subtree' : ''}.ldif"`,
      'Cache-Control': 'no-store',
    },
  };
}
