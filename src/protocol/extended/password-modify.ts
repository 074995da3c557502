// Password Modify (RFC 3062, 1.3.6.1.4.1.4203.1.11.1): PasswdModifyRequestValue ::= SEQUENCE {
// userIdentity [0], oldPasswd [1], newPasswd [2] } (all OPTIONAL); the response may carry
// genPasswd [0] when the server generated the password.

import type { ExtendedRequest, ExtendedResponse } from '../../ldap/messages.js';
import { OID } from '../../ldap/oids.js';
import { BerReader, BerWriter, InvalidValue } from '../ber.js';
import type { ExtendedCodec } from './codec.js';

const TAG_USER_IDENTITY = 0x80;
const TAG_OLD_PASSWD = 0x81;
const TAG_NEW_PASSWD = 0x82;
const TAG_GEN_PASSWD = 0x80;

type PasswordModifyRequest = Extract<ExtendedRequest, { kind: 'passwordModify' }>;

export function decodePasswordModify(value: Buffer | undefined): PasswordModifyRequest {
  const out: PasswordModifyRequest = { kind: 'passwordModify' };
  // An absent request value is the same as an empty sequence (slapd accepts it).
  if (!value || value.length === 0) return out;
  try {
    const r = new BerReader(value);
    r.enter(0x30);
    if (r.peek() === TAG_USER_IDENTITY) {
      const id = r.readOctets(TAG_USER_IDENTITY);
      if (id.length > 0) out.userIdentity = id.toString('utf8');
    }
    if (r.peek() === TAG_OLD_PASSWD) out.oldPassword = Buffer.from(r.readOctets(TAG_OLD_PASSWD));
    if (r.peek() === TAG_NEW_PASSWD) {
      const pw = Buffer.from(r.readOctets(TAG_NEW_PASSWD));
      if (pw.length > 0) out.newPassword = pw;
    }
    if (!r.atEnd()) throw new Error('unexpected element');
    r.end = value.length;
    if (!r.atEnd()) throw new Error('trailing data');
  } catch {
    throw new InvalidValue('password modify: malformed request value');
  }
  return out;
}

export function encodeGeneratedPassword(password: string): Buffer {
  const w = new BerWriter(64);
  w.startSequence();
  w.writeString(password, TAG_GEN_PASSWD);
  w.endSequence();
  return Buffer.from(w.toBuffer());
}

export const passwordModifyCodec: ExtendedCodec<PasswordModifyRequest> = {
  oid: OID.passwordModify,
  kind: 'passwordModify',
  decode: decodePasswordModify,
  encode: (res: ExtendedResponse) => (res.generatedPassword !== undefined ? encodeGeneratedPassword(res.generatedPassword) : undefined),
};
