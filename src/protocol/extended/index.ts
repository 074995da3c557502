// Extended operations (RFC 4511 §4.12) on the wire: the codecs the listener is given (the
// server's table, server/extended.ts), looked up by OID. An OID without a codec decodes to
// { kind: 'unknown' }, which the frontend answers "unsupported extended operation". StartTLS is
// the connection's own (connection.ts).

import type { ExtendedRequest, ExtendedResponse } from '../../ldap/messages.js';
import type { ExtendedCodec } from './codec.js';

export type { ExtendedCodec } from './codec.js';

export class ExtendedCodecs {
  private readonly byOid: ReadonlyMap<string, ExtendedCodec>;
  private readonly byKind: ReadonlyMap<string, ExtendedCodec>;

  constructor(codecs: readonly ExtendedCodec[]) {
    this.byOid = new Map(codecs.map((c) => [c.oid, c]));
    this.byKind = new Map(codecs.map((c) => [c.kind, c]));
    if (this.byOid.size !== codecs.length || this.byKind.size !== codecs.length) {
      throw new Error('extended operations: an OID or a kind is registered twice');
    }
  }

  /** The request's typed form; an OID without a codec is { kind: 'unknown' }. */
  decode(oid: string, value: Buffer | undefined): ExtendedRequest {
    const codec = this.byOid.get(oid);
    if (codec) return codec.decode(value);
    return value === undefined ? { kind: 'unknown', oid } : { kind: 'unknown', oid, value };
  }

  /** The responseValue of the response to a request of this kind. */
  responseValue(req: ExtendedRequest, res: ExtendedResponse): Buffer | undefined {
    return this.byKind.get(req.kind)?.encode?.(res);
  }
}

/** A listener given no table knows no extended operation but StartTLS. */
export const NO_EXTENDED_OPERATIONS = new ExtendedCodecs([]);
