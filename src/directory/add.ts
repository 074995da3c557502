// Add (RFC 4511 §4.7): build and validate the entry from the request, then add it through the
// write path (new DN, existing parent, operational attributes, one batch).

import type { AddRequest, LdapResult, OperationContext } from '../ldap/messages.js';
import { LdapError, ResultCode, success } from '../ldap/result.js';
import { prettyDn } from '../schema/dn.js';
import { checkAssertion } from './assertion.js';
import type { Directory } from './directory.js';
import { addRdnValues, buildAttributes } from './entry-build.js';
import { checkQuality, PASSWORD_KEY, policyFor } from './ppolicy.js';
import { readEntry } from './read-entry.js';
import type { EntryRecord } from '../store/types.js';
import { generalizedTime } from './clock.js';
import type { Attributes, TransactionRunner } from './write.js';

export async function add(
  dir: Directory,
  ctx: OperationContext,
  req: AddRequest,
  ndn: string,
  run: TransactionRunner = (fn) => dir.writer.transaction(fn),
): Promise<LdapResult> {
  const rdns = dir.parse(req.dn);
  dir.access.requireWrite(ctx.session, req.dn);
  const attrs = await buildAttributes(dir.schema, dir.config.passwordScheme, req.attributes);
  addRdnValues(dir.schema, rdns[0]!, attrs);
  return run(async (tx) => {
    if (attrs[PASSWORD_KEY]) await addPolicy(dir, ctx, givenPasswords(dir, req.attributes), attrs, (n) => tx.get(n));
    const rec = await tx.add(ctx.session.bindDn, ndn, prettyDn(req.dn), attrs, { as: ctx.session });
    // RFC 4528: for an add, the assertion is evaluated against the entry to be added (as slapd does).
    checkAssertion(dir, ctx, { dn: rec.dn, ndn, rec });
    await tx.commit();
    if (!ctx.controls.postRead) return success();
    return { ...success(), controls: { postRead: await readEntry(dir, ctx, ctx.controls.postRead, { dn: rec.dn, ndn, rec }) } };
  });
}

/**
 * The password policy of a new entry with a password (slapd's ppolicy_add): one value, of the
 * quality the policy asks unless the administrator adds it; its change time when passwords age.
 * `given`: the userPassword values as sent (before hashing). Every writer of new entries uses it.
 */
export async function addPolicy(
  dir: Directory,
  ctx: OperationContext,
  given: Buffer[],
  attrs: Attributes,
  get: (ndn: string) => Promise<EntryRecord | undefined>,
): Promise<void> {
  const policy = await policyFor(dir, attrs, get);
  if (!policy) return;
  if (given.length > 1) throw new LdapError(ResultCode.constraintViolation, 'Password policy only allows one password value');
  if (!dir.isAdmin(ctx.session)) checkQuality(ctx, policy, given[0]!);
  if (policy.maxAge > 0 || policy.minAge > 0) attrs['pwdchangedtime'] = [generalizedTime()];
}

/** The userPassword values of request attributes, as sent. */
export function givenPasswords(dir: Directory, attributes: ReadonlyArray<{ type: string; values: Buffer[] }>): Buffer[] {
  return attributes.filter((a) => dir.schema.attributeType(a.type.split(';')[0]!)?.key === PASSWORD_KEY).flatMap((a) => a.values);
}

/** The root DSE always exists: adding it is entryAlreadyExists. */
export function addRootDse(): never {
  throw new LdapError(ResultCode.entryAlreadyExists, 'root DSE already exists');
}
