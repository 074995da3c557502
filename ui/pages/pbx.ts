// Voicemail and queues: the mailboxes (no PINs are ever sent to the page) and the queues with
// their members, with add, edit in place and remove through the server's asterisk commands' code.

import type { MailboxInfo, QueueInfo } from '../../src/console/types.js';
import { del, get, post } from '../api.js';
import { field, fill, h } from '../dom.js';
import { openEditor } from '../edit.js';

type Mailbox = MailboxInfo;
type Queue = QueueInfo;

const STRATEGIES = ['ringall', 'leastrecent', 'fewestcalls', 'random', 'rrmemory', 'linear', 'wrandom', 'rrordered'];

export async function pbxPage(main: HTMLElement): Promise<void> {
  const status = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const error = h('p', { role: 'alert', class: 'error' });
  const boxes = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Mailboxes table', tabindex: '0' });
  const queues = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Queues table', tabindex: '0' });
  const queueChoice = h('select', { name: 'queue' });
  const panel = h('section', { class: 'panel', 'aria-label': 'Edit', id: 'pbx-editor', hidden: true });
  // Said once the tables show the change.
  const saved = (what: string) => async () => {
    await load();
    status.textContent = what;
    error.textContent = '';
  };
  const editMailbox = (m: Mailbox, id: string) =>
    openEditor(panel, {
      id: 'edit-mailbox',
      title: `Edit mailbox ${id}`,
      fields: [
        { label: 'Full name', name: 'fullname', value: m.fullname, hint: 'Empty removes it' },
        { label: 'Email', name: 'email', value: m.email, type: 'email', hint: 'Empty removes it' },
        { label: 'New PIN', name: 'password', type: 'password', hint: 'Empty keeps the PIN' },
      ],
      save: (v) => post(`mailboxes/${encodeURIComponent(id)}`, v),
      saved: saved(`Saved mailbox ${id}.`),
    });
  const editQueue = (q: Queue) =>
    openEditor(panel, {
      id: 'edit-queue',
      title: `Edit queue ${q.name}`,
      fields: [
        { label: 'Strategy', name: 'strategy', value: q.strategy ?? 'ringall', options: STRATEGIES },
        { label: 'Ring timeout (s)', name: 'timeout', value: q.timeout, hint: 'Empty removes it' },
        { label: 'Music on hold', name: 'musiconhold', value: q.musiconhold, hint: 'Empty removes it' },
      ],
      save: (v) => post(`queues/${encodeURIComponent(q.name)}`, v),
      saved: saved(`Saved queue ${q.name}.`),
    });
  const editMember = (q: Queue, m: Queue['members'][number]) =>
    openEditor(panel, {
      id: 'edit-member',
      title: `Edit ${m.interface} in ${q.name}`,
      fields: [
        { label: 'Penalty', name: 'penalty', value: m.penalty ?? '0' },
        { label: 'Paused', name: 'paused', value: m.paused === '1' ? '1' : '0', options: ['0', '1'], hint: '1: paused' },
        { label: 'Member name', name: 'membername', value: m.membername },
      ],
      save: (v) => post(`queues/${encodeURIComponent(q.name)}/members/${encodeURIComponent(m.interface)}`, v),
      saved: saved(`Saved ${m.interface} in ${q.name}.`),
    });

  const act = (what: string, f: () => Promise<unknown>) => async () => {
    try {
      await f();
      status.textContent = what;
      error.textContent = '';
      await load();
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };
  const button = (label: string, aria: string, f: () => Promise<void>, cls = 'danger') =>
    h('button', { type: 'button', class: cls, 'aria-label': aria, onclick: () => void f() }, label);

  const load = async () => {
    try {
      const [{ mailboxes }, { queues: qs }] = await Promise.all([
        get<{ mailboxes: Mailbox[] }>('mailboxes'),
        get<{ queues: Queue[] }>('queues'),
      ]);
      fill(
        boxes,
        h(
          'table',
          { id: 'mailboxes' },
          h('caption', {}, `${mailboxes.length} mailbox(es)`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Mailbox', 'Context', 'Name', 'Email', 'Actions'].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            mailboxes.map((m) => {
              const id = `${m.mailbox}@${m.context}`;
              return h(
                'tr',
                { 'data-mailbox': id },
                h('th', { scope: 'row' }, m.mailbox),
                h('td', {}, m.context),
                h('td', {}, m.fullname ?? ''),
                h('td', {}, m.email ?? ''),
                h(
                  'td',
                  {},
                  h(
                    'div',
                    { class: 'actions' },
                    button('Edit', `Edit mailbox ${id}`, async () => editMailbox(m, id), 'secondary'),
                    button(
                      'Remove',
                      `Remove mailbox ${id}`,
                      act(`Removed mailbox ${id}.`, () => del(`mailboxes/${encodeURIComponent(id)}`)),
                    ),
                  ),
                ),
              );
            }),
          ),
        ),
      );
      fill(
        queues,
        h(
          'table',
          { id: 'queues' },
          h('caption', {}, `${qs.length} queue(s)`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Queue', 'Strategy', 'Members', 'Actions'].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            qs.map((q) =>
              h(
                'tr',
                { 'data-queue': q.name },
                h('th', { scope: 'row' }, q.name),
                h(
                  'td',
                  {},
                  [q.strategy ?? '', q.timeout ? `, ${q.timeout} s` : '', q.musiconhold ? `, hold music ${q.musiconhold}` : ''].join(''),
                ),
                h(
                  'td',
                  {},
                  q.members.length
                    ? h(
                        'ul',
                        { class: 'members' },
                        q.members.map((m) =>
                          h(
                            'li',
                            {},
                            `${m.interface}${m.membername && m.membername !== m.interface ? ` (${m.membername})` : ''}, penalty ${m.penalty ?? '0'}${m.paused === '1' ? ', paused' : ''} `,
                            button('Edit', `Edit ${m.interface} in ${q.name}`, async () => editMember(q, m), 'secondary'),
                            button(
                              'Remove',
                              `Remove ${m.interface} from ${q.name}`,
                              act(`Removed ${m.interface} from ${q.name}.`, () =>
                                del(`queues/${encodeURIComponent(q.name)}/members/${encodeURIComponent(m.interface)}`),
                              ),
                              'secondary',
                            ),
                          ),
                        ),
                      )
                    : 'none',
                ),
                h(
                  'td',
                  {},
                  h(
                    'div',
                    { class: 'actions' },
                    button('Edit', `Edit queue ${q.name}`, async () => editQueue(q), 'secondary'),
                    button(
                      'Remove',
                      `Remove queue ${q.name}`,
                      act(`Removed queue ${q.name} and its members.`, () => del(`queues/${encodeURIComponent(q.name)}`)),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
      fill(
        queueChoice,
        qs.map((q) => h('option', { value: q.name }, q.name)),
      );
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };

  const form = (
    id: string,
    title: string,
    fields: HTMLElement[],
    submit: string,
    send: (f: HTMLFormElement) => Promise<unknown>,
    done: string,
  ) => {
    const f: HTMLFormElement = h(
      'form',
      {
        id,
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void act(done, async () => {
            await send(f);
            f.reset();
          })();
        },
      },
      h('h3', {}, title),
      h('div', { class: 'grid' }, fields),
      h('button', { type: 'submit' }, submit),
    );
    return f;
  };
  const input = (name: string, attrs: Record<string, string | boolean> = {}) => h('input', { name, autocomplete: 'off', ...attrs });
  const value = (f: HTMLFormElement, name: string) => (f.elements.namedItem(name) as HTMLInputElement).value.trim() || undefined;

  const strategy = h(
    'select',
    { name: 'strategy' },
    STRATEGIES.map((s) => h('option', { value: s }, s)),
  );
  fill(
    main,
    h('h1', {}, 'Voicemail and queues'),
    status,
    error,
    panel,
    h('h2', {}, 'Mailboxes'),
    boxes,
    form(
      'add-mailbox',
      'Add a mailbox',
      [
        field('Mailbox', input('mailbox', { required: true })),
        field('Context', input('context', { value: 'default' })),
        field('PIN', input('password', { type: 'password', required: true, inputmode: 'numeric', autocomplete: 'new-password' })),
        field('Full name', input('fullname')),
        field('Email', input('email', { type: 'email' })),
      ],
      'Add mailbox',
      (f) =>
        post('mailboxes', {
          mailbox: value(f, 'mailbox'),
          context: value(f, 'context'),
          password: value(f, 'password'),
          fullname: value(f, 'fullname'),
          email: value(f, 'email'),
        }),
      'Mailbox added.',
    ),
    h('h2', {}, 'Queues'),
    queues,
    form(
      'add-queue',
      'Add a queue',
      [field('Name', input('name', { required: true })), field('Strategy', strategy)],
      'Add queue',
      (f) => post('queues', { name: value(f, 'name'), strategy: (f.elements.namedItem('strategy') as HTMLSelectElement).value }),
      'Queue added.',
    ),
    form(
      'add-member',
      'Add a queue member',
      [
        field('Queue', queueChoice),
        field('Interface', input('interface', { required: true, placeholder: 'PJSIP/1001' })),
        field('Penalty', input('penalty', { inputmode: 'numeric' })),
      ],
      'Add member',
      (f) =>
        post(`queues/${encodeURIComponent(queueChoice.value)}/members`, { interface: value(f, 'interface'), penalty: value(f, 'penalty') }),
      'Member added.',
    ),
  );
  await load();
}
