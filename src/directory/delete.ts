// Delete (RFC 4511 §4.8): only leaf entries; the entry, its indexes and its parent's child
// index change in one batch through the write path.

import type { DeleteRequest, LdapResult, OperationContext } from '../ldap/messages.js';
import { LdapError, ResultCode, success } from '../ldap/result.js';
import { checkAssertion } from './assertion.js';
import type { Directory } from './directory.js';
import { readEntry } from './read-entry.js';
import type { TransactionRunner } from './write.js';

export async function del(
  dir: Directory,
  ctx: OperationContext,
  req: DeleteRequest,
  ndn: string,
  run: TransactionRunner = (fn) => dir.writer.transaction(fn),
): Promise<LdapResult> {
  dir.access.requireWrite(ctx.session, req.dn);
  return run(async (tx) => {
    if (ndn === '') throw new LdapError(ResultCode.unwillingToPerform, 'cannot delete the root DSE');
    const old = await tx.require(ndn, ctx.session);
    checkAssertion(dir, ctx, { dn: old.dn, ndn, rec: old });
    if (await tx.hasChildren(ndn)) throw new LdapError(ResultCode.notAllowedOnNonLeaf, 'subordinate objects must be deleted first');
    // The pre-read entry is taken before the delete (hasSubordinates and the like are still known).
    const preRead = ctx.controls.preRead ? await readEntry(dir, ctx, ctx.controls.preRead, { dn: old.dn, ndn, rec: old }) : undefined;
    tx.remove(ndn, old);
    return preRead ? { ...success(), controls: { preRead } } : success();
  });
}
