// Delete (RFC 4511 §4.8): only leaf entries; the entry, its indexes and its parent's child
// count go in one batch.

import { LdapError, ResultCode } from '../errors.js';
import { success, type Directory } from './directory.js';
import type { DeleteRequest, LdapResult, OperationContext } from './requests.js';

export async function del(dir: Directory, ctx: OperationContext, req: DeleteRequest): Promise<LdapResult> {
  const ndn = dir.normalize(req.dn);
  if (dir.configTree.isConfig(ndn) || ndn === dir.subschemaNdn) {
    dir.configTree.requireAccess(ctx.session, true);
    throw new LdapError(ResultCode.unwillingToPerform, 'schema entries cannot be deleted; delete their definitions with modify');
  }
  dir.access.requireWrite(ctx.session, req.dn);
  return dir.exclusive(async () => {
    if (ndn === '') throw new LdapError(ResultCode.unwillingToPerform, 'cannot delete the root DSE');
    const old = await dir.getEntry(ndn);
    if (await dir.store.hasChildren(ndn)) throw new LdapError(ResultCode.notAllowedOnNonLeaf, 'subordinate objects must be deleted first');
    await dir.write({ entries: [{ ndn, old }] });
    return success();
  });
}
