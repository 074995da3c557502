// Who am I? (RFC 4532, 1.3.6.1.4.1.4203.1.11.3): no request value; the response value is the
// authorization identity as a plain string ('' when anonymous).

import type { ExtendedRequest, ExtendedResponse } from '../../ldap/messages.js';
import { OID } from '../../ldap/oids.js';
import type { ExtendedCodec } from './codec.js';

export const whoAmICodec: ExtendedCodec<Extract<ExtendedRequest, { kind: 'whoAmI' }>> = {
  oid: OID.whoAmI,
  kind: 'whoAmI',
  decode: () => ({ kind: 'whoAmI' }),
  encode: (res: ExtendedResponse) => (res.authzId !== undefined ? Buffer.from(res.authzId, 'utf8') : undefined),
};
