// What a codec of an extended operation is (RFC 4511 §4.12): its OID, the request value decoded
// into the typed request of ldap/messages.ts, and the typed response turned back into a
// responseValue. Each codec has a file of its own; the server's table (server/extended.ts)
// joins each one to its handler.

import type { ExtendedRequest, ExtendedResponse } from '../../ldap/messages.js';

export interface ExtendedCodec<R extends ExtendedRequest = ExtendedRequest> {
  readonly oid: string;
  /** The request's kind in ldap/messages.ts (what the frontend dispatches on). */
  readonly kind: R['kind'];
  /** Decodes the request value (throws InvalidValue when malformed: protocolError, the connection kept). */
  decode(value: Buffer | undefined): R;
  /** The responseValue of a response to this operation, if it has one. */
  encode?(res: ExtendedResponse): Buffer | undefined;
}
