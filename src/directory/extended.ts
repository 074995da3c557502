// Extended operations (RFC 4511 §4.12): Who Am I (RFC 4532); unknown OIDs are protocolError
// as RFC 4511 requires.

import { LdapError, ResultCode } from '../errors.js';
import { EXT_WHOAMI, type Directory } from './directory.js';
import type { ExtendedRequest, ExtendedResponse, OperationContext } from './requests.js';

export async function extended(_dir: Directory, ctx: OperationContext, req: ExtendedRequest): Promise<ExtendedResponse> {
  if (req.oid === EXT_WHOAMI) {
    const who = ctx.session.bindDn ? `dn:${ctx.session.bindDn}` : '';
    return { code: ResultCode.success, matchedDN: '', message: '', value: Buffer.from(who, 'utf8') };
  }
  throw new LdapError(ResultCode.protocolError, `${req.oid} not supported`);
}
