// queues.conf to the queues and queue_members realtime tables. app_queue reads a realtime
// column with "_" as the option with "-" (periodic_announce is periodic-announce), so options
// are looked up that way. `member => interface,penalty,membername,state_interface,ringinuse,
// wrapuptime` lines become queue_members entries cn=<queue>-<interface without technology>.
// [general] configures app_queue itself and stays in the file.

import { type ConfigVariable, type ParsedConfig } from './config-parser.js';
import { columnsOf, keepSection, type Conversion, type ConvertContext } from './model.js';

export const QUEUE_CLASSES = ['AstldapQueue'];
export const MEMBER_CLASSES = ['AstldapQueueMember'];

/** The uniqueid (cn) of a static member: queue-<interface after the technology>. */
export const memberId = (queue: string, iface: string): string =>
  `${queue}-${iface.replace(/^[^/]*\//, '').replace(/[^A-Za-z0-9._@-]/g, '_')}`;

export function convertQueues(cfg: ParsedConfig, ctx: ConvertContext, out: Conversion): void {
  for (const cat of cfg.categories) {
    if (cat.template) continue;
    if (cat.name.toLowerCase() === 'general') {
      keepSection(out, cat, '[general] configures app_queue itself: keep it in the static queues.conf');
      continue;
    }
    const b = ctx.builder('queues', cat.name, cat.origin, `queue ${cat.name}`, QUEUE_CLASSES, out);
    // app_queue reads a queue's strategy once, the first in the category (a template's comes
    // first), and skips any later one: the converted queue must ring the same way.
    const strategies = cat.variables.filter((v) => v.name === 'strategy');
    for (const later of strategies.slice(1)) {
      out.skipped.push({
        origin: later.origin,
        text: `strategy=${later.value}`,
        reason: `app_queue keeps the first strategy of [${cat.name}] (${strategies[0]!.value}) and ignores this one; so does the conversion`,
      });
    }
    for (const col of columnsOf(cat, new Set(['member']))) {
      const first = col.name === 'strategy' && strategies.length > 1;
      const values = first ? [strategies[0]!.value] : col.values.slice(-1);
      b.set(col.name.replace(/-/g, '_'), values, { file: col.file, line: col.line }, `${col.name}=${col.values.join(',')}`);
    }
    out.entries.push(b.entry);
    for (const v of cat.variables.filter((x) => x.name === 'member')) member(cat.name, v, ctx, out);
  }
  out.families.push('queues', 'queue_members');
}

function member(queue: string, v: ConfigVariable, ctx: ConvertContext, out: Conversion): void {
  const [iface = '', penalty = '', membername = '', state = '', ringinuse = '', wrapuptime = ''] = v.value.split(',').map((s) => s.trim());
  const text = `member => ${v.value}`;
  if (!iface) {
    out.skipped.push({ origin: v.origin, text, reason: 'a member needs an interface' });
    return;
  }
  const b = ctx.builder('queue_members', memberId(queue, iface), v.origin, `member ${iface} of ${queue}`, MEMBER_CLASSES, out);
  b.set('queue_name', [queue], v.origin, text);
  b.set('interface', [iface], v.origin, text);
  b.set('membername', [membername || iface], v.origin, text);
  b.set('state_interface', [state || iface], v.origin, text);
  b.set('penalty', [penalty || '0'], v.origin, text);
  b.set('paused', ['0'], v.origin, text);
  if (ringinuse) b.set('ringinuse', [ringinuse], v.origin, text);
  if (wrapuptime) b.set('wrapuptime', [wrapuptime], v.origin, text);
  out.entries.push(b.entry);
}
