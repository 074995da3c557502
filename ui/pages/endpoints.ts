// Endpoints: the PJSIP endpoints in a table (search, sort, paging: only one page of rows is in
// the document, so 10k endpoints stay quick), their auth, AOR and registration state from the
// contacts Asterisk writes; add, new password and remove go through the server's endpoint logic
// (the same as `astldap asterisk endpoint`). A password is shown once, in the credentials panel.

import type { EndpointInfo, PeerInfo, TablePage } from '../../src/console/types.js';
import { del, get, post } from '../api.js';
import { field, fill, h } from '../dom.js';
import { openEditor } from '../edit.js';

type Endpoint = EndpointInfo;
type Peer = PeerInfo;

/** chan_sip and IAX peers (settings edited in place, never a secret shown), only where a site has any. */
async function peersSection(into: HTMLElement, panel: HTMLElement, said: (text: string) => void): Promise<void> {
  const { peers } = await get<{ peers: Peer[] }>('peers');
  if (!peers.length) return fill(into);
  const edit = (p: Peer) =>
    openEditor(panel, {
      id: 'edit-peer',
      title: `Edit ${p.kind === 'sip' ? 'chan_sip' : 'IAX2'} peer ${p.name}`,
      fields: [
        { label: 'Context', name: 'context', value: p.context },
        { label: 'Host', name: 'host', value: p.host, hint: 'dynamic, or an address' },
        { label: 'Caller ID', name: 'callerid', value: p.callerid, hint: 'Empty removes it' },
        { label: 'Mailbox', name: 'mailbox', value: p.mailbox, hint: 'BOX@CONTEXT; empty removes it' },
      ],
      save: (v) => post(`peers/${p.kind}/${encodeURIComponent(p.name)}`, v),
      saved: async () => {
        await peersSection(into, panel, said);
        said(`Saved peer ${p.name}.`);
      },
    });
  fill(
    into,
    h('h2', {}, 'chan_sip and IAX peers'),
    h(
      'div',
      { class: 'table-wrap', role: 'region', 'aria-label': 'chan_sip and IAX peers table', tabindex: '0' },
      h(
        'table',
        { id: 'peers' },
        h('caption', {}, `${peers.length} peer(s)`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Peer', 'Channel', 'Context', 'Host', 'Caller ID', 'Registration', 'Address', 'Expires', 'User agent', 'Actions'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          peers.map((p) =>
            h(
              'tr',
              { 'data-peer': p.name },
              h('th', { scope: 'row' }, p.name),
              h('td', {}, p.kind === 'sip' ? 'chan_sip' : 'IAX2'),
              h('td', {}, p.context ?? ''),
              h('td', {}, p.host ?? ''),
              h('td', {}, p.callerid ?? ''),
              h('td', { class: p.state === 'registered' ? 'registered' : undefined }, p.state),
              h('td', {}, p.address ?? ''),
              h('td', {}, p.expires ? new Date(p.expires).toLocaleString() : ''),
              h('td', {}, p.userAgent ?? ''),
              h(
                'td',
                {},
                h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit peer ${p.name}`, onclick: () => edit(p) }, 'Edit'),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

type Column = 'name' | 'context' | 'auth' | 'aors' | 'state' | 'contacts';
const COLUMNS: Array<[Column, string]> = [
  ['name', 'Endpoint'],
  ['context', 'Context'],
  ['auth', 'Auth'],
  ['aors', 'AOR'],
  ['state', 'Registration'],
  ['contacts', 'Contact'],
];
const PAGE = 50;

const cell = (e: Endpoint, c: Column): string =>
  c === 'aors' ? e.aors.join(', ') : c === 'contacts' ? e.contacts.join(', ') : String(e[c] ?? '');

export async function endpointsPage(main: HTMLElement): Promise<void> {
  // The server searches, sorts and pages (src/console/table.ts): the page holds one page of rows.
  let current: TablePage<Endpoint> & { q: string } = { rows: [], total: 0, offset: 0, limit: PAGE, q: '' };
  let sortBy: Column = 'name';
  let ascending = true;
  let page = 0;
  let asked = 0;
  const status = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const error = h('p', { role: 'alert', class: 'error' });
  const search = h('input', { type: 'search', id: 'endpoint-search', placeholder: 'name, context, contact…' });
  const table = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Endpoints table', tabindex: '0' });
  const pager = h('div', { class: 'pager' });
  const panel = h('section', { class: 'panel', 'aria-label': 'SIP credentials', id: 'credentials-panel', hidden: true });

  const show = (text: string) => ((status.textContent = text), (error.textContent = ''));
  const fail = (e: unknown) => (error.textContent = (e as Error).message);

  const credentials = (e: Endpoint, password?: string) => {
    const host = location.hostname;
    const lines = [`Username: ${e.username ?? e.name}`, `Realm: ${e.realm ?? 'asterisk'}`, `Server: ${host}`];
    if (password) lines.push(`Password: ${password}`);
    const text = lines.join('\n');
    const copy = h(
      'button',
      { type: 'button', onclick: () => void navigator.clipboard?.writeText(text).then(() => show('Copied.')) },
      'Copy',
    );
    panel.hidden = false;
    fill(
      panel,
      h('h2', {}, `SIP credentials of ${e.name}`),
      h('pre', { id: 'sip-credentials' }, text),
      password ? h('p', {}, 'The password is shown this once: copy it now.') : h('p', {}, 'Set a new password to see one.'),
      copy,
      h('button', { type: 'button', class: 'secondary', onclick: () => ((panel.hidden = true), fill(panel)) }, 'Close'),
    );
  };

  const edit = (e: Endpoint) => {
    const ctx = h('input', { name: 'context', value: e.context ?? '' });
    const cid = h('input', { name: 'callerid', value: e.callerid ?? '' });
    const max = h('input', { name: 'maxContacts', value: e.maxContacts ?? '', inputmode: 'numeric' });
    const codecsIn = h('input', { name: 'codecs', placeholder: 'unchanged' });
    panel.hidden = false;
    fill(
      panel,
      h(
        'form',
        {
          id: 'edit-endpoint',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            void (async () => {
              try {
                const body = { context: ctx.value, callerid: cid.value, maxContacts: max.value, codecs: codecsIn.value };
                await post(`endpoints/${encodeURIComponent(e.name)}`, body);
                show(`Saved ${e.name}.`);
                panel.hidden = true;
                await load();
              } catch (err) {
                fail(err);
              }
            })();
          },
        },
        h('h2', {}, `Edit ${e.name}`),
        h(
          'div',
          { class: 'grid' },
          field('Context', ctx),
          field('Caller ID', cid, 'Empty removes it'),
          field('Max contacts', max),
          field('Codecs', codecsIn),
        ),
        h('button', { type: 'submit' }, 'Save'),
        h('button', { type: 'button', class: 'secondary', onclick: () => ((panel.hidden = true), fill(panel)) }, 'Cancel'),
      ),
    );
  };

  const actions = (e: Endpoint) => {
    const box = h('div', { class: 'actions' });
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        'aria-label': `Remove ${e.name}`,
        onclick: () =>
          fill(
            box,
            h('button', { type: 'button', class: 'danger', onclick: () => void removeOne(e) }, `Confirm removal of ${e.name}`),
            h('button', { type: 'button', class: 'secondary', onclick: () => fill(box, ...buttons()) }, 'Keep'),
          ),
      },
      'Remove',
    );
    const newPassword = h(
      'button',
      { type: 'button', 'aria-label': `New password for ${e.name}`, onclick: () => void regenerate(e) },
      'New password',
    );
    const details = h(
      'button',
      { type: 'button', class: 'secondary', 'aria-label': `Credentials of ${e.name}`, onclick: () => credentials(e) },
      'Credentials',
    );
    const editButton = h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit ${e.name}`, onclick: () => edit(e) }, 'Edit');
    const buttons = () => [details, editButton, newPassword, remove];
    fill(box, ...buttons());
    return box;
  };

  const draw = () => {
    const { rows: shown, total } = current;
    const pages = Math.max(1, Math.ceil(total / PAGE));
    page = Math.floor(current.offset / PAGE);
    const head = COLUMNS.map(([c, label]) =>
      h(
        'th',
        { scope: 'col', 'aria-sort': c === sortBy ? (ascending ? 'ascending' : 'descending') : undefined },
        h(
          'button',
          {
            type: 'button',
            class: 'sort',
            onclick: () => ((ascending = c === sortBy ? !ascending : true), (sortBy = c), (page = 0), void fetchPage()),
          },
          label,
        ),
      ),
    );
    fill(
      table,
      h(
        'table',
        { id: 'endpoints' },
        h('caption', {}, `${total} endpoint(s)${current.q ? ` matching "${current.q}"` : ''}`),
        h('thead', {}, h('tr', {}, head, h('th', { scope: 'col' }, 'Actions'))),
        h(
          'tbody',
          {},
          shown.map((e) =>
            h(
              'tr',
              { 'data-name': e.name },
              COLUMNS.map(([c]) =>
                c === 'name' ? h('th', { scope: 'row' }, e.name) : h('td', { class: c === 'state' ? e.state : undefined }, cell(e, c)),
              ),
              h('td', {}, actions(e)),
            ),
          ),
        ),
      ),
    );
    fill(
      pager,
      h('button', { type: 'button', disabled: page === 0, onclick: () => (page--, void fetchPage()) }, 'Previous page'),
      h('span', { id: 'page-label' }, `Page ${page + 1} of ${pages}`),
      h('button', { type: 'button', disabled: page >= pages - 1, onclick: () => (page++, void fetchPage()) }, 'Next page'),
    );
  };

  /** One page as the search, sort and page ask; fresh lists the directory again (opening, after a write). */
  const fetchPage = async (fresh = false) => {
    const mine = ++asked;
    const q = search.value.trim();
    const params = new URLSearchParams({
      q,
      sort: sortBy,
      order: ascending ? 'asc' : 'desc',
      offset: String(page * PAGE),
      limit: String(PAGE),
      ...(fresh ? { fresh: '1' } : {}),
    });
    try {
      const got = await get<TablePage<Endpoint>>(`endpoints?${params}`);
      // Typing sends a request per key: only the latest answer is drawn.
      if (mine !== asked) return;
      current = { ...got, q };
      draw();
    } catch (e) {
      if (mine === asked) fail(e);
    }
  };
  const load = () => fetchPage(true);

  const removeOne = async (e: Endpoint) => {
    try {
      await del(`endpoints/${encodeURIComponent(e.name)}`);
      show(`Removed ${e.name}.`);
      await load();
    } catch (err) {
      fail(err);
    }
  };

  const regenerate = async (e: Endpoint) => {
    try {
      const r = await post<{ password: string }>(`endpoints/${encodeURIComponent(e.name)}/password`, { generate: true });
      show(`New password set for ${e.name}.`);
      credentials(e, r.password);
    } catch (err) {
      fail(err);
    }
  };

  const name = h('input', { name: 'name', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9][A-Za-z0-9._@+\\-]*' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password' });
  const context = h('input', { name: 'context', value: 'default' });
  const codecs = h('input', { name: 'codecs', value: 'ulaw,alaw' });
  const callerid = h('input', { name: 'callerid', autocomplete: 'off' });
  const add = h(
    'form',
    {
      id: 'add-endpoint',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        void (async () => {
          try {
            const r = await post<{ endpoint: Endpoint; password?: string }>('endpoints', {
              name: name.value.trim(),
              password: password.value || undefined,
              generate: !password.value,
              context: context.value.trim() || undefined,
              codecs: codecs.value.trim() || undefined,
              callerid: callerid.value.trim() || undefined,
            });
            show(`Added ${r.endpoint.name}.`);
            credentials(r.endpoint, r.password ?? (password.value || undefined));
            add.reset();
            await load();
          } catch (err) {
            fail(err);
          }
        })();
      },
    },
    h('h2', {}, 'Add an endpoint'),
    h(
      'div',
      { class: 'grid' },
      field('Name', name, 'Also the auth and AOR name and the SIP username'),
      field('Password', password, 'Leave empty to generate one'),
      field('Context', context),
      field('Codecs', codecs),
      field('Caller ID', callerid, '"Name" <1001>'),
    ),
    h('button', { type: 'submit' }, 'Add endpoint'),
  );

  search.addEventListener('input', () => ((page = 0), void fetchPage()));
  const peers = h('section', { 'aria-label': 'chan_sip and IAX peers' });
  fill(main, h('h1', {}, 'Endpoints'), status, error, panel, field('Search endpoints', search), table, pager, add, peers);
  await Promise.all([load(), peersSection(peers, panel, show).catch(fail)]);
}
