// Add (RFC 4511 §4.7): build and validate the entry, then, under the write lock, check that it
// is new and that its parent exists, and store it with its operational attributes in one batch.

import { LdapError, ResultCode } from '../errors.js';
import { prettyDn } from '../schema/dn.js';
import { addRdnValues, buildAttributes } from './entry-build.js';
import { success, type Directory } from './directory.js';
import { checkAssertion, OID_POST_READ, readEntryControl, readRequests, validateAssertion } from './controls.js';
import type { AddRequest, Control, LdapResult, OperationContext } from './requests.js';

export async function add(dir: Directory, ctx: OperationContext, req: AddRequest): Promise<LdapResult> {
  const rdns = dir.parse(req.dn);
  if (rdns.length === 0) throw new LdapError(ResultCode.entryAlreadyExists, 'root DSE already exists');
  const ndn = dir.normalize(req.dn);
  if (dir.configTree.isConfig(ndn)) return dir.configTree.add(ctx, req, ndn);
  dir.access.requireWrite(ctx.session, req.dn);
  const attrs = await buildAttributes(dir, req.attributes);
  addRdnValues(dir.schema, rdns[0]!, attrs);
  const check = dir.schema.checkEntry(attrs);
  validateAssertion(ctx);
  const reads = readRequests(ctx);
  return dir.exclusive(async () => {
    if (await dir.store.get(ndn)) throw new LdapError(ResultCode.entryAlreadyExists, 'Already exists');
    if (ndn !== dir.suffixNdn) {
      if (!dir.inNamingContext(ndn)) throw new LdapError(ResultCode.unwillingToPerform, 'no global superior knowledge');
      const parentNdn = ndn.slice(ndn.indexOf(',') + 1);
      if (!(await dir.store.get(parentNdn))) throw new LdapError(ResultCode.noSuchObject, '', await dir.matchedDn(ndn));
    }
    dir.stampCreate(attrs, ctx.session.bindDn, check.structural.name);
    const rec = { dn: prettyDn(req.dn), attrs };
    // RFC 4528: for an add, the assertion is evaluated against the entry to be added (as slapd does).
    checkAssertion(dir, ctx, { dn: rec.dn, ndn, rec });
    await dir.write({ entries: [{ ndn, new: rec }] });
    const controls: Control[] = [];
    if (reads.post) controls.push(await readEntryControl(dir, ctx, OID_POST_READ, reads.post, { dn: rec.dn, ndn, rec }));
    return controls.length ? { ...success(), controls } : success();
  });
}
