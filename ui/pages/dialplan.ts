// Dialplan: the realtime dialplan rows (pbx_realtime's context, exten, priority, app, appdata),
// one table per context with its extensions in order; a row is edited in place (application and
// data), added or removed through the server's asterisk dialplan code.

import type { DialplanRow } from '../../src/console/types.js';
import { del, get, post } from '../api.js';
import { field, fill, h } from '../dom.js';
import { openEditor } from '../edit.js';

const rowPath = (r: DialplanRow) => `dialplan/${[r.context, r.exten, r.priority].map(encodeURIComponent).join('/')}`;

export async function dialplanPage(main: HTMLElement): Promise<void> {
  const status = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const error = h('p', { role: 'alert', class: 'error' });
  const panel = h('section', { class: 'panel', 'aria-label': 'Edit a dialplan row', id: 'dialplan-editor', hidden: true });
  const contexts = h('div', { id: 'contexts' });

  const said = (text: string) => ((status.textContent = text), (error.textContent = ''));
  const edit = (r: DialplanRow) =>
    openEditor(panel, {
      id: 'edit-dialplan',
      title: `Edit ${r.exten},${r.priority} in [${r.context}]`,
      fields: [
        { label: 'Application', name: 'app', value: r.app },
        { label: 'Data', name: 'appdata', value: r.appdata, hint: 'Empty removes it' },
      ],
      save: (v) => post(rowPath(r), v),
      saved: async () => {
        await load();
        said(`Saved ${r.exten},${r.priority}@${r.context}.`);
      },
    });
  const remove = async (r: DialplanRow) => {
    try {
      await del(rowPath(r));
      said(`Removed ${r.exten},${r.priority}@${r.context}.`);
      await load();
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };

  const table = (context: string, rows: DialplanRow[]) =>
    h(
      'section',
      { 'aria-label': `Context ${context}` },
      h('h2', {}, `[${context}]`),
      h(
        'div',
        { class: 'table-wrap', role: 'region', 'aria-label': `Context ${context} table`, tabindex: '0' },
        h(
          'table',
          { 'data-context': context },
          h('caption', {}, `${new Set(rows.map((r) => r.exten)).size} extension(s), ${rows.length} row(s)`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Extension', 'Priority', 'Application', 'Data', 'Actions'].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            rows.map((r) =>
              h(
                'tr',
                { 'data-row': `${r.exten},${r.priority}@${r.context}` },
                h('th', { scope: 'row' }, r.exten),
                h('td', {}, r.priority),
                h('td', {}, r.app),
                h('td', {}, r.appdata ?? ''),
                h(
                  'td',
                  {},
                  h(
                    'div',
                    { class: 'actions' },
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'secondary',
                        'aria-label': `Edit ${r.exten},${r.priority}@${r.context}`,
                        onclick: () => edit(r),
                      },
                      'Edit',
                    ),
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'danger',
                        'aria-label': `Remove ${r.exten},${r.priority}@${r.context}`,
                        onclick: () => void remove(r),
                      },
                      'Remove',
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    );

  const load = async () => {
    try {
      const { rows } = await get<{ rows: DialplanRow[] }>('dialplan');
      const by = new Map<string, DialplanRow[]>();
      for (const r of rows) by.set(r.context, [...(by.get(r.context) ?? []), r]);
      fill(contexts, by.size ? [...by].map(([c, rs]) => table(c, rs)) : h('p', {}, 'No realtime dialplan rows.'));
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };

  const input = (name: string, attrs: Record<string, string | boolean> = {}) => h('input', { name, autocomplete: 'off', ...attrs });
  const add: HTMLFormElement = h(
    'form',
    {
      id: 'add-dialplan',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const v = (n: string) => (add.elements.namedItem(n) as HTMLInputElement).value.trim();
        const row = {
          context: v('context'),
          exten: v('exten'),
          priority: v('priority'),
          app: v('app'),
          appdata: v('appdata') || undefined,
        };
        void post('dialplan', row).then(
          async () => (said(`Added ${row.exten},${row.priority}@${row.context}.`), add.reset(), await load()),
          (e: unknown) => (error.textContent = (e as Error).message),
        );
      },
    },
    h('h2', {}, 'Add a row'),
    h(
      'div',
      { class: 'grid' },
      field('Context', input('context', { value: 'default', required: true })),
      field('Extension', input('exten', { required: true }), 'A number, or a pattern such as _1XXX'),
      field('Priority', input('priority', { required: true, inputmode: 'numeric', value: '1' })),
      field('Application', input('app', { required: true, placeholder: 'Dial' })),
      field('Data', input('appdata', { placeholder: 'PJSIP/1001,20' })),
    ),
    h('button', { type: 'submit' }, 'Add row'),
  );

  fill(main, h('h1', {}, 'Dialplan'), status, error, panel, contexts, add);
  await load();
}
