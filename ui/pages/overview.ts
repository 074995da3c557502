// Overview: entries, open connections and operations per second (polled from the counters
// behind /metrics, drawn as a small line); for the administrator (or a root/sudo token) also the
// replication consumers and their lag, the last backup, the admin engine's seal and the warnings
// a PBX should not run with.

import type { ConsoleOverview, ReplicationConsumer } from '../../src/console/types.js';
import { get } from '../api.js';
import { fill, h } from '../dom.js';

type Overview = ConsoleOverview;

const POLL_MS = 2000;
const SAMPLES = 30;
const SVG = 'http://www.w3.org/2000/svg';

function chart(rates: number[]): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${SAMPLES - 1} 40`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Operations per second, last ${rates.length} samples; now ${rates.at(-1) ?? 0}`);
  const max = Math.max(1, ...rates);
  const line = document.createElementNS(SVG, 'polyline');
  const start = SAMPLES - rates.length;
  line.setAttribute('points', rates.map((r, i) => `${start + i},${(40 - (r / max) * 38).toFixed(1)}`).join(' '));
  line.setAttribute('class', 'line');
  svg.appendChild(line);
  return svg;
}

const when = (iso: string) => new Date(iso).toLocaleString();

/** Replication, the last backup, the seal and the warnings (a privileged session's). */
function serverWide(o: Overview): HTMLElement[] {
  const consumers = o.replication ?? [];
  const lag = (c: ReplicationConsumer) => (c.lagChanges ? `${c.lagChanges} change(s), ${c.lagSeconds} s` : 'up to date');
  const seal = o.seal;
  const backup = o.lastBackup;
  return [
    h('h2', {}, 'Replication consumers'),
    consumers.length
      ? h(
          'div',
          { class: 'table-wrap', role: 'region', 'aria-label': 'Replication consumers table', tabindex: '0' },
          h(
            'table',
            { id: 'replication' },
            h('caption', {}, `${consumers.length} consumer(s) since the server started`),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Consumer', 'Mode', 'Connected', 'Lag', 'Last seen'].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h(
              'tbody',
              {},
              consumers.map((c) =>
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row' }, c.consumer),
                  h('td', {}, c.mode),
                  h('td', {}, c.active ? 'yes' : 'no'),
                  h('td', { class: 'lag' }, lag(c)),
                  h('td', {}, when(c.lastSeen)),
                ),
              ),
            ),
          ),
        )
      : h('p', { id: 'replication' }, 'No consumer has replicated from this server since it started.'),
    h('h2', {}, 'Backup and seal'),
    h(
      'dl',
      { class: 'cards' },
      h(
        'div',
        {},
        h('dt', {}, 'Last backup'),
        h(
          'dd',
          { id: 'last-backup', class: 'small' },
          backup ? `${when(backup.at)}: ${backup.entries} entries to ${backup.path}` : 'none recorded',
        ),
      ),
      h(
        'div',
        {},
        h('dt', {}, 'Admin engine'),
        h(
          'dd',
          { id: 'seal-state', class: 'small' },
          seal ? `${seal.sealed ? 'sealed' : 'unsealed'}, seal key ${seal.keyId} (${seal.keySource})` : 'not running',
        ),
      ),
    ),
    h('h2', {}, 'Warnings'),
    o.warnings.length
      ? h(
          'ul',
          { class: 'warnings' },
          o.warnings.map((w) => h('li', {}, w)),
        )
      : h('p', {}, 'None.'),
  ];
}

export async function overviewPage(main: HTMLElement): Promise<void> {
  const body = h('div', { class: 'overview' });
  const error = h('p', { role: 'alert', class: 'error' });
  fill(main, h('h1', {}, 'Overview'), error, body);
  const rates: number[] = [];
  let last: { ops: number; at: number; sum: number; count: number } | undefined;
  let latency = '…';
  const tick = async () => {
    if (!main.isConnected) return;
    try {
      const o = await get<Overview>('overview');
      const now = Date.now();
      if (last) rates.push(Math.max(0, Math.round(((o.operations - last.ops) * 1000) / (now - last.at))));
      if (rates.length > SAMPLES) rates.shift();
      if (last && o.latencyCount > last.count)
        latency = `${(((o.latencySeconds - last.sum) / (o.latencyCount - last.count)) * 1000).toFixed(2)} ms`;
      last = { ops: o.operations, at: now, sum: o.latencySeconds, count: o.latencyCount };
      error.textContent = '';
      fill(
        body,
        h(
          'dl',
          { class: 'cards' },
          h('div', {}, h('dt', {}, 'Naming context'), h('dd', { class: 'small' }, o.suffix)),
          h('div', {}, h('dt', {}, 'Entries'), h('dd', { id: 'stat-entries' }, o.entries)),
          h('div', {}, h('dt', {}, 'Open LDAP connections'), h('dd', { id: 'stat-connections' }, o.connections)),
          h('div', {}, h('dt', {}, 'Operations per second'), h('dd', { id: 'stat-ops' }, rates.at(-1) ?? '…')),
          h('div', {}, h('dt', {}, 'Mean latency (last 2 s)'), h('dd', { id: 'stat-latency' }, latency)),
        ),
        h('h2', {}, 'Operations per second'),
        chart(rates),
        o.privileged
          ? serverWide(o)
          : h('p', { class: 'hint' }, 'Replication, backups, the seal and warnings are shown to the administrator.'),
      );
    } catch (e) {
      error.textContent = (e as Error).message;
    }
    if (main.isConnected) setTimeout(() => void tick(), POLL_MS);
  };
  await tick();
}
