// Pre-read (1.3.6.1.1.13.1) and post-read (1.3.6.1.1.13.2), RFC 4527: the request value is an
// AttributeSelection; the response value is the BER of a SearchResultEntry.

import { OID } from '../../ldap/oids.js';
import type { Control, SearchEntry } from '../../ldap/messages.js';
import { BerWriter, Tag } from '../ber.js';
import { writeEntryBody } from '../entry.js';
import { parseValue, type RequestControlCodec } from './codec.js';

function attributeSelection(value: Buffer | undefined): string[] {
  return parseValue(value, 'read entry', (r) => {
    const outer = r.enter(Tag.sequence);
    const attrs: string[] = [];
    while (!r.atEnd()) attrs.push(r.readString());
    r.leave(outer);
    return attrs;
  });
}

export const preRead: RequestControlCodec = {
  oid: OID.preRead,
  ops: ['modify', 'delete', 'modifyDN'],
  decode(value, _critical, into) {
    into.preRead = attributeSelection(value);
  },
};

export const postRead: RequestControlCodec = {
  oid: OID.postRead,
  ops: ['add', 'modify', 'modifyDN'],
  decode(value, _critical, into) {
    into.postRead = attributeSelection(value);
  },
};

export function encodeReadEntry(oid: typeof OID.preRead | typeof OID.postRead, entry: SearchEntry): Control {
  const w = new BerWriter(256);
  w.startSequence(0x64);
  writeEntryBody(w, entry);
  w.endSequence();
  return { oid, critical: false, value: w.toBuffer() };
}
