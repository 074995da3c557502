// Search, stage 2: the candidates. For the naming context: the base entry, then the entries in
// scope, from the attribute indexes when the filter allows (parents before children), else by
// walking the scope. Special entries (root DSE, subschema, cn=config) are sources of their own.

import type { OperationContext, SearchScope } from '../../ldap/messages.js';
import { depth } from '../../ldap/ndn.js';
import { LdapError, ResultCode } from '../../ldap/result.js';
import { checkAssertion } from '../assertion.js';
import type { Directory } from '../directory.js';
import { planCandidates } from '../planner.js';
import type { SearchPlan } from './plan.js';
import type { SearchResults } from './results.js';

/** Where a search's candidate entries come from: the store, or a special entry's own source. */
export type SearchSource = (dir: Directory, ctx: OperationContext, plan: SearchPlan, results: SearchResults) => Promise<void>;

const CHUNK = 256;

export function scopeTest(scope: SearchScope, baseNdn: string): (ndn: string) => boolean {
  const tail = ',' + baseNdn;
  switch (scope) {
    case 'base':
      return (ndn) => ndn === baseNdn;
    case 'one':
      return (ndn) => ndn.endsWith(tail) && ndn.indexOf(',') === ndn.length - tail.length;
    case 'sub':
      return (ndn) => ndn === baseNdn || ndn.endsWith(tail);
    case 'children':
      return (ndn) => ndn.endsWith(tail);
  }
}

function sortByDepth(ndns: string[]): void {
  const d = new Map<string, number>();
  for (const n of ndns) d.set(n, depth(n));
  ndns.sort((a, b) => d.get(a)! - d.get(b)!);
}

/**
 * The entries one search examines, against the identity's ceiling (limits.examineLimit): past it
 * the search ends with adminLimitExceeded, as slapd's `limits ... size.unchecked` does.
 */
class ExamineBudget {
  private examined = 0;
  constructor(private readonly limit: number) {}

  add(n: number): void {
    this.examined += n;
    if (this.limit > 0 && this.examined > this.limit) {
      throw new LdapError(ResultCode.adminLimitExceeded, `search would examine more than ${this.limit} entries`);
    }
  }
}

/** The naming context's entries for the plan's base and scope. */
export const storedEntries: SearchSource = async (dir, ctx, plan, results) => {
  const { baseNdn } = plan;
  // As slapd's back-mdb: a base the session may not know of is absent (same matchedDN too); one
  // it may know of but not search is insufficientAccessRights.
  const base = await dir.getEntry(baseNdn, ctx.session);
  if (plan.restricted && !dir.access.canSee(ctx.session, baseNdn)) throw new LdapError(ResultCode.insufficientAccessRights, '');
  const budget = new ExamineBudget(dir.access.limits(ctx.session).examineLimit);
  budget.add(1);
  const baseTarget = { dn: base.dn, ndn: baseNdn, rec: base };
  checkAssertion(dir, ctx, baseTarget);
  if (plan.scope === 'base') return results.emit(baseTarget);

  const inScope = scopeTest(plan.scope, baseNdn);
  const candidates = await planCandidates(dir.store, plan.filter.hint, results.pace);
  if (candidates) {
    // Parents before children, as a subtree walk gives them (clients re-import what they read).
    const inside = candidates.filter(inScope);
    budget.add(inside.length); // checked before any is read, as slapd checks its candidate count
    if (plan.scope !== 'one' && inside.length > 1) sortByDepth(inside);
    for (let i = 0; i < inside.length; i += CHUNK) {
      results.checkTime();
      await emitMany(dir, results, inside.length <= CHUNK ? inside : inside.slice(i, i + CHUNK));
    }
    return;
  }
  if (plan.scope === 'one') {
    const batch: string[] = [];
    for await (const child of dir.store.children(baseNdn)) {
      budget.add(1);
      batch.push(child);
      if (batch.length >= CHUNK) {
        results.checkTime();
        await emitMany(dir, results, batch.splice(0));
      }
    }
    return emitMany(dir, results, batch);
  }
  let n = 0;
  for await (const [ndn, rec] of dir.store.subtree(baseNdn)) {
    budget.add(1);
    if ((++n & 255) === 0) {
      results.checkTime();
      await results.pace(); // entries outside the scope are skipped without a checkpoint of their own
    }
    if (!inScope(ndn)) continue;
    await results.emit({ dn: rec.dn, ndn, rec });
  }
};

async function emitMany(dir: Directory, results: SearchResults, ndns: string[]): Promise<void> {
  if (!ndns.length) return;
  const recs = await dir.store.getMany(ndns);
  for (let j = 0; j < ndns.length; j++) {
    const rec = recs[j];
    if (rec) await results.emit({ dn: rec.dn, ndn: ndns[j]!, rec });
  }
}
