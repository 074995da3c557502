// Search, stage 3: the results. Each candidate entry is checked (visible to the session, the
// filter holds on what it may see), then sent at once, or, when the search is sorted or paged,
// collected and served page by page from a cursor; size and time limits and abandon apply.

import type { LdapResult, OperationContext, SendEntry } from '../../ldap/messages.js';
import { LdapError, ResultCode } from '../../ldap/result.js';
import type { EntryRecord } from '../../store/types.js';
import type { Directory } from '../directory.js';
import { formatEntry } from '../entry-view.js';
import { matchPaced, TRUE, type FilterTarget } from '../filter.js';
import type { PagedCursor, ResultItem } from '../paged.js';
import { sortItems, sortValues } from '../sort.js';
import type { SearchPlan } from './plan.js';
import { Slicer } from './slices.js';

type Collected = ResultItem & { values?: Array<string | undefined> };

const done = (): LdapResult => ({ code: ResultCode.success, matchedDN: '', message: '' });

export class SearchResults {
  private sent = 0;
  private readonly collected: Collected[] | undefined;
  /** Between entries, index lookups and a large filter's items: other connections get their turn. */
  readonly pace = new Slicer(() => this.checkTime()).checkpoint;

  constructor(
    private readonly dir: Directory,
    private readonly ctx: OperationContext,
    private readonly plan: SearchPlan,
    private readonly send: SendEntry,
  ) {
    this.collected = plan.paged || plan.sorting ? [] : undefined;
  }

  /** The view of the entry a filter (and sorting) may see. */
  private viewOf(target: FilterTarget): FilterTarget {
    if (!this.plan.restricted || !this.dir.inNamingContext(target.ndn)) return target;
    const view = this.dir.access.searchable(this.ctx.session, target.ndn, target.rec);
    return view === target.rec ? target : { ...target, rec: view };
  }

  /**
   * Entries the session may not see are skipped; attributes it may not search are hidden from
   * the filter, so they cannot be probed.
   */
  private async visible(target: FilterTarget): Promise<boolean> {
    const { dir, plan } = this;
    if (plan.restricted && dir.inNamingContext(target.ndn) && !dir.access.canSee(this.ctx.session, target.ndn)) return false;
    if (plan.paced) return (await matchPaced(plan.filter, this.viewOf(target), this.pace)) === TRUE;
    const matched = plan.filter.match(this.viewOf(target)) === TRUE;
    await this.pace();
    return matched;
  }

  /** Abandon, disconnect and the time limit end a search between entries (and between a large filter's items). */
  checkTime(): void {
    if (this.ctx.signal.aborted) throw new LdapError(ResultCode.cancelled, 'operation abandoned');
    if (Date.now() > this.plan.deadline) throw new LdapError(ResultCode.timeLimitExceeded, '');
  }

  /** One candidate: sent, collected, or skipped. */
  async emit(target: FilterTarget): Promise<void> {
    if (!(await this.visible(target))) return;
    if (this.collected) {
      const item: Collected = { ndn: target.ndn };
      if (!this.dir.inNamingContext(target.ndn)) item.synthetic = target;
      if (this.plan.sorting) item.values = sortValues(this.plan.sorting, this.viewOf(target).rec);
      this.collected.push(item);
      return;
    }
    if (this.plan.sizeLimit > 0 && this.sent >= this.plan.sizeLimit) throw new LdapError(ResultCode.sizeLimitExceeded, '');
    await this.send(await this.format(target));
    this.sent++;
  }

  private format(target: FilterTarget) {
    return formatEntry(this.dir, this.ctx.session, target, this.plan.selection, this.plan.typesOnly);
  }

  /** The search's final result: for a collected set, after sorting, its first page. */
  async finish(): Promise<LdapResult> {
    const { plan } = this;
    if (!this.collected) return Object.keys(plan.controls).length ? { ...done(), controls: plan.controls } : done();
    if (plan.sorting) sortItems(plan.sorting, this.collected as Array<Collected & { values: Array<string | undefined> }>);
    const items: ResultItem[] = this.collected.map((c) => (c.synthetic ? { ndn: c.ndn, synthetic: c.synthetic } : { ndn: c.ndn }));
    const cursor: PagedCursor = { sessionId: this.ctx.session.id, signature: plan.signature, items, pos: 0, sent: 0, lastUsed: Date.now() };
    return this.servePage(cursor, plan.paged ? plan.paged.size : Infinity);
  }

  /** Sends the next page (or everything, unpaged) of a collected result set. */
  async servePage(cursor: PagedCursor, pageSize: number): Promise<LdapResult> {
    const { dir, plan } = this;
    const controls = plan.controls;
    const items = cursor.items;
    let n = 0;
    while (cursor.pos < items.length && n < pageSize) {
      this.checkTime();
      const chunk = items.slice(cursor.pos, cursor.pos + Math.min(256, pageSize - n));
      const stored = chunk.filter((i) => !i.synthetic).map((i) => i.ndn);
      const recs = stored.length ? await dir.store.getMany(stored) : [];
      const byNdn = new Map<string, EntryRecord | undefined>();
      stored.forEach((ndn, i) => byNdn.set(ndn, recs[i]));
      for (const item of chunk) {
        cursor.pos++;
        let target = item.synthetic;
        if (!target) {
          // Entries deleted since the first page are skipped; changed ones are filtered again.
          const rec = byNdn.get(item.ndn);
          if (!rec) continue;
          target = { dn: rec.dn, ndn: item.ndn, rec };
          if (!(await this.visible(target))) continue;
        }
        if (plan.sizeLimit > 0 && cursor.sent >= plan.sizeLimit) {
          if (plan.paged) controls.paged = { cookie: Buffer.alloc(0) };
          return { code: ResultCode.sizeLimitExceeded, matchedDN: '', message: '', controls };
        }
        await this.send(await this.format(target));
        cursor.sent++;
        if (++n >= pageSize) break;
      }
    }
    if (plan.paged) {
      const more = cursor.pos < items.length;
      controls.paged = { cookie: more ? dir.cursors.put(this.ctx.session, cursor) : Buffer.alloc(0) };
    }
    return { ...done(), controls };
  }
}
