// Credentials: the static roles of the admin API (their entry, last and next rotation, period),
// "Rotate now" with its result, and a role's password, fetched only on an explicit click (the
// server answers it with Cache-Control: no-store) and hidden again on the next click.

import { get, post } from '../api.js';
import { fill, h } from '../dom.js';

interface Role {
  name: string;
  dn?: string;
  username?: string;
  rotation_period?: number;
  rotation_schedule?: string;
  rotation_window?: number;
  password_policy?: string;
  last_vault_rotation?: string | null;
  next_vault_rotation?: string | null;
  last_error?: string | null;
  error?: string;
}

const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

/** Every N seconds, or a cron schedule with its window. */
const schedule = (r: Role): string =>
  r.rotation_schedule
    ? `${r.rotation_schedule}${r.rotation_window ? ` (window ${r.rotation_window} s)` : ''}`
    : r.rotation_period
      ? `every ${r.rotation_period} s`
      : '—';

export async function credentialsPage(main: HTMLElement): Promise<void> {
  const status = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const error = h('p', { role: 'alert', class: 'error' });
  const table = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Static roles table', tabindex: '0' });
  fill(main, h('h1', {}, 'Credentials'), status, error, table);

  const reveal = (r: Role, out: HTMLElement, button: HTMLButtonElement) => async () => {
    if (out.textContent) {
      out.textContent = '';
      button.textContent = `Show password of ${r.name}`;
      return;
    }
    try {
      const c = await get<{ password: string; username: string }>(`roles/${encodeURIComponent(r.name)}/credential`);
      out.textContent = c.password;
      button.textContent = `Hide password of ${r.name}`;
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };

  const rotate = (r: Role) => async () => {
    status.textContent = `Rotating ${r.name}…`;
    try {
      const { role } = await post<{ role: Role }>(`roles/${encodeURIComponent(r.name)}/rotate`);
      status.textContent = `Rotated ${r.name} at ${when(role.last_vault_rotation)}.`;
      error.textContent = '';
      await load();
    } catch (e) {
      status.textContent = '';
      error.textContent = `Rotation of ${r.name} failed: ${(e as Error).message}`;
    }
  };

  const row = (r: Role) => {
    const out = h('output', { class: 'secret', 'aria-live': 'polite', id: `secret-${r.name}` });
    const show = h('button', { type: 'button', class: 'secondary' }, `Show password of ${r.name}`);
    show.addEventListener('click', () => void reveal(r, out, show)());
    return h(
      'tr',
      { 'data-role': r.name },
      h('th', { scope: 'row' }, r.name),
      h('td', {}, r.dn ?? r.error ?? ''),
      h('td', {}, when(r.last_vault_rotation)),
      h('td', {}, when(r.next_vault_rotation)),
      h('td', {}, schedule(r)),
      h('td', {}, r.password_policy || 'default'),
      h('td', {}, r.last_error ?? ''),
      h(
        'td',
        {},
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => void rotate(r)() }, `Rotate ${r.name} now`), show, out),
      ),
    );
  };

  const load = async () => {
    try {
      const { roles } = await get<{ roles: Role[] }>('roles');
      fill(
        table,
        h(
          'table',
          { id: 'roles' },
          h('caption', {}, `${roles.length} static role(s)`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Role', 'Entry', 'Last rotation', 'Next rotation', 'Rotation', 'Password policy', 'Last error', 'Actions'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h('tbody', {}, roles.map(row)),
        ),
      );
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };
  await load();
}
