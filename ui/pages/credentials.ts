// Credentials: the static roles of the admin API (their entry, last and next rotation, period),
// "Rotate now" with its result, and a role's password, fetched only on an explicit click (the
// server answers it with Cache-Control: no-store) and hidden again on the next click; the leases
// of dynamic credentials and library check-outs, with revoke; the audit trail. The token's
// policies decide what each shows.

import type { AuditAnswer, LeaseRow } from '../../src/console/types.js';
import { get, post } from '../api.js';
import { dataTable, fill, h } from '../dom.js';

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
  const leaseTable = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Leases table', tabindex: '0' });
  const auditTable = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Audit trail table', tabindex: '0' });
  fill(
    main,
    h('h1', {}, 'Credentials'),
    status,
    error,
    h('h2', {}, 'Static roles'),
    table,
    h('h2', {}, 'Leases'),
    leaseTable,
    h('h2', {}, 'Audit trail'),
    auditTable,
  );

  const revoke = (l: LeaseRow) => async () => {
    try {
      await post('leases/revoke', { lease_id: l.id });
      status.textContent = `Revoked ${l.id}.`;
      error.textContent = '';
      await Promise.all([loadLeases(), loadAudit()]);
    } catch (e) {
      error.textContent = `Revoking ${l.id} failed: ${(e as Error).message}`;
    }
  };

  const loadLeases = async () => {
    try {
      const { leases, canRevoke } = await get<{ leases: LeaseRow[]; canRevoke: boolean }>('leases');
      fill(
        leaseTable,
        dataTable(
          'leases',
          `${leases.length} lease(s)`,
          ['Lease', 'Role', 'User', 'Issued', 'Expires', 'Actions'],
          leases.map((l) =>
            h(
              'tr',
              { 'data-lease': l.id },
              h('th', { scope: 'row', class: 'small' }, l.id),
              h('td', {}, `${l.owner}${l.kind === 'library' ? ' (library)' : ''}`),
              h('td', {}, l.username ?? ''),
              h('td', {}, when(l.issueTime)),
              h('td', {}, `${when(l.expireTime)} (${l.ttl} s)`),
              h(
                'td',
                {},
                canRevoke
                  ? h(
                      'button',
                      { type: 'button', class: 'danger', 'aria-label': `Revoke ${l.id}`, onclick: () => void revoke(l)() },
                      'Revoke',
                    )
                  : 'revoke not allowed',
              ),
            ),
          ),
        ),
      );
    } catch (e) {
      fill(leaseTable, h('p', { id: 'leases' }, (e as Error).message));
    }
  };

  const loadAudit = async () => {
    try {
      const a = await get<AuditAnswer>('audit');
      fill(
        auditTable,
        dataTable(
          'audit',
          `The newest ${a.rows.length} request(s)${a.scope === 'own' ? ' made with this token' : ''}, newest first`,
          ['Time', 'Token', 'Operation', 'Path', 'Status', 'From', 'Error'],
          a.rows.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, when(r.time)),
              h('td', {}, r.who),
              h('td', {}, r.operation),
              h('th', { scope: 'row', class: 'small' }, r.path),
              h('td', {}, r.status),
              h('td', {}, r.remoteAddress),
              h('td', {}, r.error ?? ''),
            ),
          ),
        ),
      );
    } catch (e) {
      fill(auditTable, h('p', { id: 'audit' }, (e as Error).message));
    }
  };

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
      await Promise.all([load(), loadAudit()]);
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
  await Promise.all([load(), loadLeases()]);
  // After the leases: their look-ups are in the trail.
  await loadAudit();
}
