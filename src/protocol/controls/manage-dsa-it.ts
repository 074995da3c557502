// ManageDsaIT (RFC 3296, 2.16.840.1.113730.3.4.2): no value; accepted on every operation (this
// server holds no referrals, so there is nothing it changes).

import { OID } from '../../ldap/oids.js';
import type { RequestControlCodec } from './codec.js';

export const manageDsaIT: RequestControlCodec = {
  oid: OID.manageDsaIT,
  ops: 'all',
  decode(_value, _critical, into) {
    into.manageDsaIT = true;
  },
};
