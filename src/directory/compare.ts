// Compare (RFC 4511 §4.10): the attribute's equality rule decides; subtypes count, as in a filter.

import type { CompareRequest, LdapResult, OperationContext } from '../ldap/messages.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import { checkAssertion } from './assertion.js';
import { assertionString, requireDescription } from './attributes.js';
import type { Directory } from './directory.js';
import { compileFilter, TRUE, UNDEFINED } from './filter.js';

export async function compare(dir: Directory, ctx: OperationContext, req: CompareRequest, ndn: string): Promise<LdapResult> {
  const d = requireDescription(dir.schema, req.attribute);
  const rec = await dir.getEntry(ndn);
  if (!dir.access.canSee(ctx.session, ndn)) throw new LdapError(ResultCode.noSuchObject, '');
  checkAssertion(dir, ctx, { dn: rec.dn, ndn, rec });
  if (!dir.access.canCompare(ctx.session, d.key, ndn)) throw new LdapError(ResultCode.insufficientAccessRights, '');
  if (!d.type.equality && d.type.key !== 'objectclass')
    throw new LdapError(ResultCode.inappropriateMatching, `${req.attribute}: no equality matching rule`);
  const has = compileFilter(dir.schema, { type: 'present', attribute: req.attribute }).match({ dn: rec.dn, ndn, rec });
  if (has !== TRUE) throw new LdapError(ResultCode.noSuchAttribute, '');
  const r = compileFilter(dir.schema, { type: 'equality', attribute: req.attribute, value: req.value }).match({ dn: rec.dn, ndn, rec });
  if (r === UNDEFINED && d.type.equality?.normalize(assertionString(d.type, req.value)) === undefined) {
    throw new LdapError(ResultCode.invalidAttributeSyntax, `${req.attribute}: value invalid per syntax`);
  }
  return { code: r === TRUE ? ResultCode.compareTrue : ResultCode.compareFalse, matchedDN: '', message: '' };
}
