// Compare (RFC 4511 §4.10): the attribute's equality rule decides; subtypes count, as in a filter.
// As slapd: the assertion is checked against its syntax before the entry is looked up, and any
// answer but TRUE/FALSE about an entry the session may not know of is the absent entry's answer.

import type { CompareRequest, LdapResult, OperationContext } from '../ldap/messages.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import { checkAssertion } from './assertion.js';
import { requireDescription } from './attributes.js';
import type { Directory } from './directory.js';
import { assertionValid, compileFilter, TRUE } from './filter.js';

export async function compare(dir: Directory, ctx: OperationContext, req: CompareRequest, ndn: string): Promise<LdapResult> {
  const d = requireDescription(dir.schema, req.attribute);
  if (!d.type.equality && d.type.key !== 'objectclass')
    throw new LdapError(ResultCode.inappropriateMatching, `${req.attribute}: no equality matching rule`);
  if (!assertionValid(dir.schema, d.type, req.value)) {
    throw new LdapError(ResultCode.invalidAttributeSyntax, 'value does not conform to assertion syntax');
  }
  const rec = await dir.getEntry(ndn, ctx.session);
  const target = { dn: rec.dn, ndn, rec };
  // Access before the assertion control, as slapd's slap_compare_entry.
  if (!dir.access.canCompare(ctx.session, d.key, ndn)) throw new LdapError(ResultCode.insufficientAccessRights, '');
  checkAssertion(dir, ctx, target);
  const has = compileFilter(dir.schema, { type: 'present', attribute: req.attribute }).match(target);
  if (has !== TRUE) throw new LdapError(ResultCode.noSuchAttribute, '');
  const r = compileFilter(dir.schema, { type: 'equality', attribute: req.attribute, value: req.value }).match(target);
  return { code: r === TRUE ? ResultCode.compareTrue : ResultCode.compareFalse, matchedDN: '', message: '' };
}
