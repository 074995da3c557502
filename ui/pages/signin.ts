// Sign-in: an LDAP identity (a DN, or a uid/cn the server finds under the suffix) and its
// password, or an admin API token. Nothing is stored in the browser: the server sets an
// HttpOnly session cookie.

import { post, type SessionInfo } from '../api.js';
import { field, fill, h } from '../dom.js';

export function signInPage(app: HTMLElement, message: string | undefined, done: (s: SessionInfo) => void): void {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, message ?? '');
  const user = h('input', { name: 'user', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const token = h('input', { name: 'token', type: 'password', autocomplete: 'off', required: true });
  const submit = async (e: Event, body: Record<string, string>) => {
    e.preventDefault();
    status.textContent = 'Signing in…';
    try {
      done(await post<SessionInfo>('login', body));
    } catch (err) {
      status.textContent = `Sign-in failed: ${(err as Error).message}`;
    }
  };
  fill(
    app,
    h(
      'main',
      { id: 'main', class: 'signin' },
      h('h1', {}, 'astldap console'),
      status,
      h(
        'form',
        { id: 'ldap-signin', onsubmit: (e: Event) => void submit(e, { kind: 'ldap', user: user.value, password: password.value }) },
        h('h2', {}, 'Sign in with your directory account'),
        field('User name or DN', user, 'A uid or cn (for example admin), or a full DN'),
        field('Password', password),
        h('button', { type: 'submit' }, 'Sign in'),
      ),
      h(
        'form',
        { id: 'token-signin', onsubmit: (e: Event) => void submit(e, { kind: 'token', token: token.value }) },
        h('h2', {}, 'Or with an admin API token'),
        field('Token', token, 'For the Credentials page: static roles and rotation'),
        h('button', { type: 'submit' }, 'Sign in with token'),
      ),
    ),
  );
  user.focus();
}
