// Directory: a tree of the naming context (children loaded when a node is opened), the chosen
// entry's attributes, and an editor whose changes go to the server as one modify request; when
// the server refuses (a schema violation, missing rights) its LDAP error is shown as it was sent.

import type { AttributeInfo } from '../../src/console/types.js';
import { ApiError, get, post, type SessionInfo } from '../api.js';
import { field, fill, h, nextId } from '../dom.js';

interface Child {
  dn: string;
  rdn: string;
}
interface Entry {
  dn: string;
  attributes: Array<{ type: string; values: string[]; schema?: AttributeInfo }>;
}

const about = (i: AttributeInfo | undefined): string =>
  i
    ? [i.syntax, i.singleValue ? 'one value' : 'several values', i.readOnly ? 'set by the server' : ''].filter(Boolean).join(', ')
    : 'not in the schema';

/** The first change the schema refuses (an unknown type, several values for a single-valued one), if any. */
async function schemaProblem(
  changes: Array<{ operation: string; type: string; values: string[] }>,
  known: Array<{ type: string; schema?: AttributeInfo }>,
): Promise<string | undefined> {
  for (const c of changes) {
    const existing = known.find((k) => k.type.toLowerCase() === c.type.toLowerCase());
    let info = existing?.schema;
    if (!info) {
      try {
        info = await get<AttributeInfo>(`schema?attr=${encodeURIComponent(c.type)}`);
      } catch (e) {
        return (e as Error).message;
      }
    }
    if (info.readOnly) return `${info.name} is set by the server`;
    const count = c.operation === 'add' && existing ? c.values.length + 1 : c.values.length;
    if (info.singleValue && count > 1) return `${info.name} takes one value`;
  }
  return undefined;
}

export async function directoryPage(main: HTMLElement, me: SessionInfo): Promise<void> {
  const error = h('p', { role: 'alert', class: 'error', id: 'directory-error' });
  const status = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const tree = h('nav', { class: 'tree', 'aria-label': 'Directory tree' });
  const view = h('section', { class: 'entry', 'aria-label': 'Entry' });
  fill(main, h('h1', {}, 'Directory'), status, error, h('div', { class: 'split' }, tree, view));

  const node = (c: Child): HTMLElement => {
    const kids = h('ul', { hidden: true });
    let loaded = false;
    const toggle = h('button', { type: 'button', class: 'twisty', 'aria-expanded': 'false', 'aria-label': `Open ${c.rdn}` }, '+');
    toggle.addEventListener('click', () => {
      const open = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? '−' : '+';
      kids.hidden = !open;
      if (open && !loaded) {
        loaded = true;
        void children(c.dn, kids);
      }
    });
    const pick = h('button', { type: 'button', class: 'link', 'data-dn': c.dn, onclick: () => void show(c.dn) }, c.rdn);
    return h('li', {}, toggle, pick, kids);
  };

  const children = async (dn: string, into: HTMLElement) => {
    try {
      const r = await get<{ children: Child[]; truncated: boolean }>(`tree?dn=${encodeURIComponent(dn)}`);
      fill(into, r.children.map(node), r.truncated ? h('li', {}, '(more entries than shown)') : null);
      if (!r.children.length) fill(into, h('li', { class: 'muted' }, 'no children'));
    } catch (e) {
      fill(into, h('li', { class: 'error' }, (e as Error).message));
    }
  };

  const ldifBox = h('pre', { id: 'ldif', class: 'ldif', hidden: true, tabindex: '0', 'aria-label': 'LDIF of the entry' });
  const viewLdif = async (dn: string) => {
    const res = await fetch(`/ui/api/ldif?dn=${encodeURIComponent(dn)}`, { credentials: 'same-origin', cache: 'no-store' });
    ldifBox.textContent = res.ok ? await res.text() : `HTTP ${res.status}`;
    ldifBox.hidden = false;
  };

  const show = async (dn: string) => {
    ldifBox.hidden = true;
    error.textContent = '';
    try {
      const e = await get<Entry>(`entry?dn=${encodeURIComponent(dn)}`);
      fill(
        view,
        h('h2', {}, e.dn),
        h(
          'table',
          { class: 'attrs' },
          h('caption', {}, 'Attributes'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Attribute', 'Values', 'Syntax'].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            e.attributes.map((a) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, a.type),
                h(
                  'td',
                  {},
                  a.values.map((v) => h('div', {}, v)),
                ),
                h('td', { class: 'muted' }, about(a.schema)),
              ),
            ),
          ),
        ),
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', id: 'edit-entry', onclick: () => edit(e) }, 'Edit entry'),
          h('button', { type: 'button', class: 'secondary', id: 'view-ldif', onclick: () => void viewLdif(e.dn) }, 'View LDIF'),
          h('a', { href: `/ui/api/ldif?dn=${encodeURIComponent(e.dn)}`, download: '' }, 'Download entry LDIF'),
          h('a', { href: `/ui/api/ldif?dn=${encodeURIComponent(e.dn)}&scope=sub`, download: '' }, 'Download subtree LDIF'),
        ),
        ldifBox,
      );
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  };

  const edit = (e: Entry) => {
    const boxes = e.attributes
      .filter((a) => !a.schema?.readOnly)
      .map((a) => ({
        type: a.type,
        before: a.values,
        schema: a.schema,
        box: h('textarea', { rows: Math.min(6, a.values.length + 1), 'data-attr': a.type }, a.values.join('\n')),
      }));
    const newType = h('input', { id: nextId('newattr'), autocomplete: 'off' });
    const newValues = h('textarea', { rows: 2 });
    const save = async (ev: Event) => {
      ev.preventDefault();
      const changes: Array<{ operation: string; type: string; values: string[] }> = [];
      const lines = (t: string) =>
        t
          .split('\n')
          .map((v) => v.trim())
          .filter(Boolean);
      for (const b of boxes) {
        const after = lines(b.box.value);
        if (after.join('\n') === b.before.join('\n')) continue;
        changes.push(
          after.length ? { operation: 'replace', type: b.type, values: after } : { operation: 'delete', type: b.type, values: [] },
        );
      }
      if (newType.value.trim()) changes.push({ operation: 'add', type: newType.value.trim(), values: lines(newValues.value) });
      if (!changes.length) return void (status.textContent = 'Nothing changed.');
      // Checked against the live schema before anything is sent; the server checks again.
      const problem = await schemaProblem(changes, boxes);
      if (problem) return void (error.textContent = `Not sent: ${problem}`);
      try {
        await post('entry', { dn: e.dn, changes });
        status.textContent = `Saved ${e.dn}.`;
        await show(e.dn);
      } catch (err) {
        error.textContent = `The server refused the change: ${err instanceof ApiError ? err.message : String(err)}`;
      }
    };
    fill(
      view,
      h('h2', {}, `Edit ${e.dn}`),
      h(
        'form',
        { id: 'entry-editor', onsubmit: (ev: Event) => void save(ev) },
        boxes.map((b) => field(b.type, b.box, `${about(b.schema)}. One value per line; empty removes the attribute`)),
        field('Add attribute', newType),
        field('Its values', newValues, 'One value per line'),
        h('button', { type: 'submit' }, 'Save'),
        h('button', { type: 'button', class: 'secondary', onclick: () => void show(e.dn) }, 'Cancel'),
      ),
    );
  };

  const session = await get<{ suffix: string }>('overview');
  const root = h('ul', {});
  fill(tree, root);
  fill(root, node({ dn: session.suffix, rdn: session.suffix }));
  // One's own entry first: whoever may read nothing else can still read that.
  // (The configured administrator has no entry of its own: the suffix then.)
  const own = me.kind === 'ldap' ? await get<Entry>(`entry?dn=${encodeURIComponent(me.name)}`).catch(() => undefined) : undefined;
  await show(own ? own.dn : session.suffix);
}
