// Add (RFC 4511 §4.7): build and validate the entry from the request, then add it through the
// write path (new DN, existing parent, operational attributes, one batch).

import type { AddRequest, LdapResult, OperationContext } from '../ldap/messages.js';
import { LdapError, ResultCode, success } from '../ldap/result.js';
import { prettyDn } from '../schema/dn.js';
import { checkAssertion } from './assertion.js';
import type { Directory } from './directory.js';
import { addRdnValues, buildAttributes } from './entry-build.js';
import { readEntry } from './read-entry.js';

export async function add(dir: Directory, ctx: OperationContext, req: AddRequest, ndn: string): Promise<LdapResult> {
  const rdns = dir.parse(req.dn);
  dir.access.requireWrite(ctx.session, req.dn);
  const attrs = await buildAttributes(dir.schema, dir.config.passwordScheme, req.attributes);
  addRdnValues(dir.schema, rdns[0]!, attrs);
  return dir.writer.transaction(async (tx) => {
    const rec = await tx.add(ctx.session.bindDn, ndn, prettyDn(req.dn), attrs, { as: ctx.session });
    // RFC 4528: for an add, the assertion is evaluated against the entry to be added (as slapd does).
    checkAssertion(dir, ctx, { dn: rec.dn, ndn, rec });
    await tx.commit();
    if (!ctx.controls.postRead) return success();
    return { ...success(), controls: { postRead: await readEntry(dir, ctx, ctx.controls.postRead, { dn: rec.dn, ndn, rec }) } };
  });
}

/** The root DSE always exists: adding it is entryAlreadyExists. */
export function addRootDse(): never {
  throw new LdapError(ResultCode.entryAlreadyExists, 'root DSE already exists');
}
