// The console's page: sign-in, then a header, the navigation of the pages this identity may use
// (an LDAP sign-in: Overview, Endpoints, Voicemail & queues, Dialplan, Directory, Schema; a token:
// Overview, Credentials) and the page chosen by the URL's fragment (#/endpoints), so a reload
// or a bookmark comes back to it.

import { call, get, setSession, whenExpired, type SessionInfo } from './api.js';
import { fill, h } from './dom.js';
import { credentialsPage } from './pages/credentials.js';
import { dialplanPage } from './pages/dialplan.js';
import { directoryPage } from './pages/directory.js';
import { endpointsPage } from './pages/endpoints.js';
import { overviewPage } from './pages/overview.js';
import { pbxPage } from './pages/pbx.js';
import { schemaPage } from './pages/schema.js';
import { signInPage } from './pages/signin.js';

export type Page = (main: HTMLElement, session: SessionInfo) => Promise<void> | void;

const PAGES: Record<string, { title: string; render: Page }> = {
  overview: { title: 'Overview', render: overviewPage },
  endpoints: { title: 'Endpoints', render: endpointsPage },
  pbx: { title: 'Voicemail & queues', render: pbxPage },
  dialplan: { title: 'Dialplan', render: dialplanPage },
  credentials: { title: 'Credentials', render: credentialsPage },
  directory: { title: 'Directory', render: directoryPage },
  schema: { title: 'Schema', render: schemaPage },
};

const app = document.getElementById('app')!;
let session: SessionInfo | undefined;

function signedOut(message?: string): void {
  session = undefined;
  setSession(undefined);
  signInPage(app, message, (s) => {
    session = s;
    setSession(s);
    if (!location.hash) location.hash = '#/overview';
    render();
  });
}

function render(): void {
  if (!session) return signedOut();
  const s = session;
  const wanted = location.hash.replace(/^#\//, '').split('/')[0] || 'overview';
  const name = s.pages.includes(wanted) ? wanted : 'overview';
  const main = h('main', { id: 'main', tabindex: '-1' });
  const nav = h(
    'nav',
    { 'aria-label': 'Console pages' },
    h(
      'ul',
      {},
      s.pages.map((p) => h('li', {}, h('a', { href: `#/${p}`, 'aria-current': p === name ? 'page' : undefined }, PAGES[p]!.title))),
    ),
  );
  const signOut = h('button', { type: 'button', class: 'secondary', onclick: () => void logout() }, 'Sign out');
  fill(
    app,
    h('a', { class: 'skip', href: '#main', onclick: (e: Event) => (e.preventDefault(), main.focus()) }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('span', { class: 'brand' }, 'astldap console'),
      h('span', { class: 'who' }, `Signed in as ${s.name}`),
      signOut,
    ),
    nav,
    main,
  );
  document.title = `${PAGES[name]!.title} · astldap console`;
  void Promise.resolve(PAGES[name]!.render(main, s)).then(() => main.focus({ preventScroll: true }));
}

async function logout(): Promise<void> {
  await call('POST', 'logout').catch(() => undefined);
  signedOut('You are signed out.');
}

whenExpired(() => signedOut('Your session has ended: sign in again.'));
window.addEventListener('hashchange', () => {
  if (session) render();
});

get<SessionInfo>('session').then(
  (s) => {
    session = s;
    setSession(s);
    render();
  },
  () => signedOut(),
);
