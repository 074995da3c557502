// Persistent search (draft-ietf-ldapext-psearch-03): the request control (2.16.840.1.113730.3.4.3),
// SEQUENCE { changeTypes INTEGER, changesOnly BOOLEAN, returnECs BOOLEAN }, and the Entry Change
// Notification control (2.16.840.1.113730.3.4.7) on the entries it sends.

import { OID } from '../../ldap/oids.js';
import type { Control, SearchEntry } from '../../ldap/messages.js';
import { BerWriter, Tag } from '../ber.js';
import { malformed, parseValue, type RequestControlCodec } from './codec.js';

export const persistentSearch: RequestControlCodec = {
  oid: OID.persistentSearch,
  ops: ['search'],
  decode(value, _critical, into) {
    into.persistentSearch = parseValue(value, 'persistent search', (r) => {
      const outer = r.enter(Tag.sequence);
      const changeTypes = r.readInteger();
      const changesOnly = r.readBoolean();
      const returnECs = r.readBoolean();
      if (!r.atEnd()) throw malformed('persistent search');
      r.leave(outer);
      if (changeTypes < 1 || changeTypes > 15) throw malformed('persistent search');
      return { changeTypes, changesOnly, returnECs };
    });
  },
};

export function encodeEntryChange(ec: NonNullable<SearchEntry['entryChange']>): Control {
  const w = new BerWriter(64);
  w.startSequence();
  w.writeEnumerated(ec.changeType);
  if (ec.previousDn !== undefined) w.writeString(ec.previousDn);
  w.endSequence();
  return { oid: OID.entryChangeNotification, critical: false, value: w.toBuffer() };
}
