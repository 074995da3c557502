// Server-side sorting (RFC 2891): the request (1.2.840.113556.1.4.473) is a SEQUENCE OF
// SEQUENCE { attributeType, orderingRule [0] OPTIONAL, reverseOrder [1] BOOLEAN DEFAULT FALSE };
// the response (1.2.840.113556.1.4.474) a result code and the failing attribute.

import { OID } from '../../ldap/oids.js';
import type { Control, ResponseControls, SortKey } from '../../ldap/messages.js';
import { BerWriter, Tag } from '../ber.js';
import { malformed, parseValue, type RequestControlCodec } from './codec.js';

export const sortRequest: RequestControlCodec = {
  oid: OID.sortRequest,
  ops: ['search'],
  decode(value, critical, into) {
    const keys = parseValue(value, 'sort', (r) => {
      const outer = r.enter(Tag.sequence);
      const out: SortKey[] = [];
      while (!r.atEnd()) {
        const o = r.enter(Tag.sequence);
        const attribute = r.readString();
        let orderingRule: string | undefined;
        let reverse = false;
        if (r.peek() === 0x80) orderingRule = r.readString(0x80);
        if (r.peek() === 0x81) reverse = r.readBoolean(0x81);
        if (!r.atEnd()) throw malformed('sort');
        r.leave(o);
        out.push({ attribute, ...(orderingRule !== undefined ? { orderingRule } : {}), reverse });
      }
      r.leave(outer);
      if (out.length === 0) throw malformed('sort');
      return out;
    });
    into.sort = { keys, critical };
  },
};

export function encodeSortResponse(s: NonNullable<ResponseControls['sort']>): Control {
  const w = new BerWriter(32);
  w.startSequence();
  w.writeEnumerated(s.code);
  if (s.attribute !== undefined) w.writeString(s.attribute, 0x80);
  w.endSequence();
  return { oid: OID.sortResponse, critical: false, value: w.toBuffer() };
}
