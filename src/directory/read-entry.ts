// Pre-read and post-read (RFC 4527) on the core's side: the entry before or after a write, with
// the attributes the session may read (nothing of an entry it may not see).

import type { OperationContext, SearchEntry } from '../ldap/messages.js';
import type { Directory } from './directory.js';
import { compileSelection, formatEntry } from './entry-view.js';
import type { FilterTarget } from './filter.js';

export async function readEntry(dir: Directory, ctx: OperationContext, attrs: string[], target: FilterTarget): Promise<SearchEntry> {
  if (!dir.isAdmin(ctx.session) && !dir.access.canSee(ctx.session, target.ndn)) return { dn: target.dn, attributes: [] };
  return formatEntry(dir, ctx.session, target, compileSelection(dir.schema, attrs), false);
}
