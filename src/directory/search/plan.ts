// Search, stage 1: the plan. Everything a search decides before it reads an entry: the base,
// the compiled filter and attribute selection, the size and time limits for this identity,
// sorting (RFC 2891) and paging (RFC 2696) from the request's decoded controls.

import type { LdapResult, OperationContext, ResponseControls, SearchRequest } from '../../ldap/messages.js';
import { LdapError, ResultCode } from '../../ldap/result.js';
import type { Directory } from '../directory.js';
import { compileSelection, type Selection } from '../entry-view.js';
import { compileFilter, compileFilterPaced, exceedsCeiling, type Compiled } from '../filter.js';
import { pagedSignature } from '../paged.js';
import { compileSort, type CompiledSortKey } from '../sort.js';
import { Slicer } from './slices.js';

export interface SearchPlan {
  baseNdn: string;
  scope: SearchRequest['scope'];
  filter: Compiled;
  selection: Selection;
  typesOnly: boolean;
  /** 0 = unlimited. */
  sizeLimit: number;
  /** Date.now() past which the search fails with timeLimitExceeded. */
  deadline: number;
  paged?: { size: number; cookie: Buffer };
  sorting?: CompiledSortKey[];
  /** What the request asked for, so a paged-results cookie fits only its own search ('' unpaged). */
  signature: string;
  /** Response controls decided so far (the sort result). */
  controls: ResponseControls;
  /** False for administrators: no access checks per entry. */
  restricted: boolean;
  /** A large filter, evaluated a slice at a time (matchPaced) rather than in one go per entry. */
  paced: boolean;
}

/** Filters of more than 32 items are evaluated item by item with checkpoints between them. */
const PACED_CEILING = { terms: 32, depth: Infinity, bytes: Infinity };

function minLimit(client: number, server: number): number {
  if (client > 0 && server > 0) return Math.min(client, server);
  return client > 0 ? client : server;
}

/** The plan, or the final result when a critical sort cannot be done (RFC 2891 §1.2). */
export async function planSearch(
  dir: Directory,
  ctx: OperationContext,
  req: SearchRequest,
  baseNdn: string,
): Promise<SearchPlan | LdapResult> {
  const schema = dir.schema;
  const limits = dir.access.limits(ctx.session);
  // The ceiling is checked before anything is compiled, as slapd's administrative limits are:
  // adminLimitExceeded (11), the code slapd gives when a search passes a configured limit.
  const over = exceedsCeiling(req.filter, limits.filter);
  if (over) throw new LdapError(ResultCode.adminLimitExceeded, `filter exceeds the ${over} limit for this identity`);
  // A lone assertion is one term.
  const compound = req.filter.type === 'and' || req.filter.type === 'or' || req.filter.type === 'not';
  const paced = compound && exceedsCeiling(req.filter, PACED_CEILING) !== undefined;
  if (paced) dir.log.debug(`conn=${ctx.session.id} op=${ctx.messageId} large filter: compiled and evaluated in time slices`);
  const stopped = (): void => {
    if (ctx.signal.aborted) throw new LdapError(ResultCode.cancelled, 'operation abandoned');
  };
  const filter = paced ? await compileFilterPaced(schema, req.filter, new Slicer(stopped).checkpoint) : compileFilter(schema, req.filter);
  const selection = compileSelection(schema, req.attributes);
  const timeLimit = minLimit(req.timeLimit, limits.timeLimit);
  const controls: ResponseControls = {};
  let sorting: CompiledSortKey[] | undefined;
  let sortSpec = '';
  const sort = ctx.controls.sort;
  if (sort) {
    const plan = compileSort(schema, sort.keys);
    if (!plan.ok) {
      // A critical sort that cannot be done fails the search; otherwise results come unsorted.
      controls.sort = { code: plan.code, attribute: plan.attribute };
      if (sort.critical) {
        return {
          code: ResultCode.unavailableCriticalExtension,
          matchedDN: '',
          message: 'sort control: cannot sort on the given key',
          controls,
        };
      }
    } else {
      sorting = plan.keys;
      sortSpec = plan.spec;
      controls.sort = { code: ResultCode.success };
    }
  }
  return {
    baseNdn,
    scope: req.scope,
    filter,
    selection,
    typesOnly: req.typesOnly,
    sizeLimit: minLimit(req.sizeLimit, limits.sizeLimit),
    deadline: timeLimit > 0 ? Date.now() + timeLimit * 1000 : Infinity,
    ...(ctx.controls.paged ? { paged: ctx.controls.paged } : {}),
    ...(sorting ? { sorting } : {}),
    // Only a paged search keeps a cursor to match a later cookie against.
    signature: ctx.controls.paged ? pagedSignature(baseNdn, req.scope, req.filter, sortSpec) : '',
    controls,
    restricted: !dir.isAdmin(ctx.session),
    paced,
  };
}
