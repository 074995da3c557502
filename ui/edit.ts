// An in-place edit form shown in a page's panel: labelled fields with the row's current values,
// Save (the page's call to the server; its error stays in the form) and Cancel. The focus moves
// into the form when it opens, and back to the page's status when it closes.

import { field, fill, h } from './dom.js';

export interface EditField {
  label: string;
  name: string;
  value?: string;
  hint?: string;
  /** A choice of values instead of free text. */
  options?: string[];
  type?: string;
}

export interface EditForm {
  id: string;
  title: string;
  fields: EditField[];
  /** Sends the values; a rejection's message is shown in the form. */
  save: (values: Record<string, string>) => Promise<unknown>;
  /** After a successful save (the page reloads its rows). */
  saved: () => Promise<void> | void;
}

export function openEditor(panel: HTMLElement, f: EditForm): void {
  const inputs = f.fields.map((x) =>
    x.options
      ? h(
          'select',
          { name: x.name },
          x.options.map((o) => h('option', { value: o, selected: o === x.value }, o)),
        )
      : h('input', {
          name: x.name,
          value: x.value ?? '',
          type: x.type ?? 'text',
          autocomplete: x.type === 'password' ? 'new-password' : 'off',
        }),
  );
  const problem = h('p', { role: 'alert', class: 'error' });
  const close = () => ((panel.hidden = true), fill(panel));
  const form = h(
    'form',
    {
      id: f.id,
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const values = Object.fromEntries(inputs.map((i) => [i.name, i.value]));
        void f.save(values).then(
          async () => {
            close();
            await f.saved();
          },
          (e: unknown) => (problem.textContent = (e as Error).message),
        );
      },
    },
    h('h2', {}, f.title),
    problem,
    h(
      'div',
      { class: 'grid' },
      f.fields.map((x, i) => field(x.label, inputs[i]!, x.hint)),
    ),
    h('button', { type: 'submit' }, 'Save'),
    h('button', { type: 'button', class: 'secondary', onclick: close }, 'Cancel'),
  );
  panel.hidden = false;
  fill(panel, form);
  inputs[0]?.focus();
}
