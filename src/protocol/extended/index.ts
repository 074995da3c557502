// Extended operations (RFC 4511 §4.12): one codec per OID turns the request value into typed
// fields and the typed response back into a responseValue. StartTLS is the connection's own.

import type { ExtendedRequest, ExtendedResponse } from '../../ldap/messages.js';
import { OID } from '../../ldap/oids.js';
import { decodePasswordModify, encodeGeneratedPassword } from './password-modify.js';
import { txnEndCodec, txnStartCodec } from './txn.js';

export function decodeExtendedRequest(oid: string, value: Buffer | undefined): ExtendedRequest {
  switch (oid) {
    case OID.whoAmI:
      return { kind: 'whoAmI' };
    case OID.passwordModify:
      return decodePasswordModify(value);
    case OID.txnStart:
      return txnStartCodec.decode(value);
    case OID.txnEnd:
      return txnEndCodec.decode(value);
    default:
      return value === undefined ? { kind: 'unknown', oid } : { kind: 'unknown', oid, value };
  }
}

/** The responseValue of a typed extended response (RFC 4532 authzId, RFC 3062 genPasswd, RFC 5805 identifier and txnEndRes). */
export function extendedResponseValue(res: ExtendedResponse): Buffer | undefined {
  if (res.authzId !== undefined) return Buffer.from(res.authzId, 'utf8');
  if (res.generatedPassword !== undefined) return encodeGeneratedPassword(res.generatedPassword);
  return txnStartCodec.encode(res) ?? txnEndCodec.encode(res);
}
