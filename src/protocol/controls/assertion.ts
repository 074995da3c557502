// Assertion (RFC 4528, 1.3.6.1.1.12): the value is a BER Filter; the operation runs only when it
// holds for the target entry.

import { OID } from '../../ldap/oids.js';
import { decodeFilterValue } from '../filter.js';
import { malformed, type RequestControlCodec } from './codec.js';

export const assertion: RequestControlCodec = {
  oid: OID.assertion,
  ops: ['search', 'add', 'modify', 'delete', 'modifyDN', 'compare'],
  decode(value, _critical, into) {
    if (value === undefined) throw malformed('assertion');
    try {
      into.assertion = decodeFilterValue(value);
    } catch {
      throw malformed('assertion');
    }
  },
};
