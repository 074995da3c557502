// Password Policy (draft-behera-ldap-password-policy-10 §6, 1.3.6.1.4.1.42.2.27.8.5.1): the
// request has no value; the response value is
//   SEQUENCE { warning [0] CHOICE { timeBeforeExpiration [0] INTEGER, graceAuthNsRemaining [1]
//   INTEGER } OPTIONAL, error [1] ENUMERATED OPTIONAL }
// (implicit tags; the CHOICE's own tag is explicit, so the warning is a constructed [0]).

import { OID } from '../../ldap/oids.js';
import type { Control, PasswordPolicyResponse } from '../../ldap/messages.js';
import { ResultCode } from '../../ldap/result.js';
import { BerWriter, InvalidValue } from '../ber.js';
import type { RequestControlCodec } from './codec.js';

export const passwordPolicy: RequestControlCodec = {
  oid: OID.passwordPolicy,
  ops: ['bind', 'modify', 'add', 'extended'],
  decode(value, _critical, into) {
    // The draft says the value is absent; slapd refuses one that is not, with these words.
    if (value !== undefined) throw new InvalidValue('passwordPolicyRequest control value not absent', ResultCode.protocolError);
    into.passwordPolicy = true;
  },
};

export function encodePasswordPolicyResponse(p: PasswordPolicyResponse): Control {
  const w = new BerWriter(16);
  w.startSequence();
  if (p.warning) {
    w.startSequence(0xa0);
    if ('timeBeforeExpiration' in p.warning) w.writeInteger(p.warning.timeBeforeExpiration, 0x80);
    else w.writeInteger(p.warning.graceAuthNsRemaining, 0x81);
    w.endSequence();
  }
  if (p.error !== undefined) w.writeInteger(p.error, 0x81);
  w.endSequence();
  return { oid: OID.passwordPolicy, critical: false, value: w.toBuffer() };
}
