// Search (RFC 4511 §4.5) in three stages: plan (search/plan.ts), collect candidates from the
// source the frontend routed the base to (search/collect.ts, or a special entry's source), and
// return them, filtered, sorted and paged (search/results.ts).

import type { LdapResult, OperationContext, SearchRequest, SendEntry } from '../../ldap/messages.js';
import { LdapError, ResultCode } from '../../ldap/result.js';
import type { Directory } from '../directory.js';
import type { SearchSource } from './collect.js';
import { planSearch } from './plan.js';
import { SearchResults } from './results.js';

export async function search(
  dir: Directory,
  ctx: OperationContext,
  req: SearchRequest,
  baseNdn: string,
  send: SendEntry,
  source: SearchSource,
): Promise<LdapResult> {
  const plan = await planSearch(dir, ctx, req, baseNdn);
  if (!('baseNdn' in plan)) return plan;
  const results = new SearchResults(dir, ctx, plan, send);
  if (plan.paged) {
    const endOfPaging = (): LdapResult => ({
      code: ResultCode.success,
      matchedDN: '',
      message: '',
      controls: { ...plan.controls, paged: { cookie: Buffer.alloc(0) } },
    });
    if (plan.paged.cookie.length > 0) {
      // The next page of a search this session started.
      const cursor = dir.cursors.take(ctx.session, plan.paged.cookie);
      if (!cursor) throw new LdapError(ResultCode.unwillingToPerform, 'paged results cookie is invalid or old');
      if (cursor.signature !== plan.signature) {
        throw new LdapError(ResultCode.unwillingToPerform, 'paged results cookie is invalid: the search request changed');
      }
      // A page size of zero abandons the paged search (RFC 2696 §3); its cursor is freed.
      if (plan.paged.size === 0) return endOfPaging();
      return results.servePage(cursor, plan.paged.size);
    }
    if (plan.paged.size === 0) return endOfPaging();
  }
  await source(dir, ctx, plan, results);
  return results.finish();
}
