// Delete (RFC 4511 §4.8): only leaf entries; the entry, its indexes and its parent's child
// count go in one batch.

import { LdapError, ResultCode } from '../errors.js';
import { success, type Directory } from './directory.js';
import { checkAssertion, OID_PRE_READ, readEntryControl, readRequests, validateAssertion } from './controls.js';
import type { Control, DeleteRequest, LdapResult, OperationContext } from './requests.js';

export async function del(dir: Directory, ctx: OperationContext, req: DeleteRequest): Promise<LdapResult> {
  const ndn = dir.normalize(req.dn);
  if (dir.configTree.isConfig(ndn) || ndn === dir.subschemaNdn) {
    dir.configTree.requireAccess(ctx.session, true);
    throw new LdapError(ResultCode.unwillingToPerform, 'schema entries cannot be deleted; delete their definitions with modify');
  }
  dir.access.requireWrite(ctx.session, req.dn);
  validateAssertion(ctx);
  const reads = readRequests(ctx);
  return dir.exclusive(async () => {
    if (ndn === '') throw new LdapError(ResultCode.unwillingToPerform, 'cannot delete the root DSE');
    const old = await dir.getEntry(ndn);
    checkAssertion(dir, ctx, { dn: old.dn, ndn, rec: old });
    if (await dir.store.hasChildren(ndn)) throw new LdapError(ResultCode.notAllowedOnNonLeaf, 'subordinate objects must be deleted first');
    // The pre-read entry is taken before the delete (hasSubordinates and the like are still known).
    const controls: Control[] = [];
    if (reads.pre) controls.push(await readEntryControl(dir, ctx, OID_PRE_READ, reads.pre, { dn: old.dn, ndn, rec: old }));
    await dir.write({ entries: [{ ndn, old }] });
    return controls.length ? { ...success(), controls } : success();
  });
}
