// The assertion control (RFC 4528) on the core's side: the operation fails with assertionFailed
// unless the request's filter holds for the target entry, as the session may see it.

import type { OperationContext } from '../ldap/messages.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import type { Directory } from './directory.js';
import { compileFilter, exceedsCeiling, TRUE, type FilterTarget } from './filter.js';

export function checkAssertion(dir: Directory, ctx: OperationContext, target: FilterTarget): void {
  const filter = ctx.controls.assertion;
  if (!filter) return;
  // The same ceiling as a search filter: an assertion is evaluated in one go.
  const over = exceedsCeiling(filter, dir.access.limits(ctx.session).filter);
  if (over) throw new LdapError(ResultCode.adminLimitExceeded, `assertion filter exceeds the ${over} limit for this identity`);
  let t = target;
  if (!dir.isAdmin(ctx.session) && dir.inNamingContext(target.ndn)) {
    const view = dir.access.searchable(ctx.session, target.ndn, target.rec);
    if (view !== target.rec) t = { ...target, rec: view };
  }
  if (compileFilter(dir.schema, filter).match(t) !== TRUE) throw new LdapError(ResultCode.assertionFailed, '');
}
