// Simple Paged Results (RFC 2696, 1.2.840.113556.1.4.319): realSearchControlValue ::= SEQUENCE {
// size INTEGER, cookie OCTET STRING }, the same shape in both directions.

import { OID } from '../../ldap/oids.js';
import type { Control, ResponseControls } from '../../ldap/messages.js';
import { BerWriter, Tag } from '../ber.js';
import { malformed, parseValue, type RequestControlCodec } from './codec.js';

export const pagedResults: RequestControlCodec = {
  oid: OID.pagedResults,
  ops: ['search'],
  decode(value, _critical, into) {
    into.paged = parseValue(value, 'paged results', (r) => {
      const outer = r.enter(Tag.sequence);
      const size = r.readInteger();
      const cookie = Buffer.from(r.readOctets());
      if (!r.atEnd()) throw malformed('paged results');
      r.leave(outer);
      if (size < 0) throw malformed('paged results');
      return { size, cookie };
    });
  },
};

export function encodePagedResponse(p: NonNullable<ResponseControls['paged']>): Control {
  const w = new BerWriter(32);
  w.startSequence();
  w.writeInteger(p.estimate ?? 0);
  w.writeOctets(p.cookie);
  w.endSequence();
  return { oid: OID.pagedResults, critical: false, value: w.toBuffer() };
}
