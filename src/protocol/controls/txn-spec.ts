// Transaction Specification (RFC 5805 §2.2, 1.3.6.1.1.21.2): the control value is the
// transaction identifier itself (no BER inside). It must be critical, and it marks an update as
// part of a transaction, as slapd's txn_spec_ctrl checks it.

import { OID } from '../../ldap/oids.js';
import { InvalidValue } from '../ber.js';
import type { RequestControlCodec } from './codec.js';

export const txnSpec: RequestControlCodec = {
  oid: OID.txnSpec,
  // Extended operations too: Password Modify joins the transaction, any other is refused with it.
  ops: ['add', 'modify', 'delete', 'modifyDN', 'extended'],
  decode(value, critical, into) {
    // slapd's words (protocolError, the connection kept).
    if (!critical) throw new InvalidValue('txnSpec control must be marked critical');
    if (value === undefined) throw new InvalidValue('no transaction identifier provided');
    into.txnSpec = Buffer.from(value);
  },
};
