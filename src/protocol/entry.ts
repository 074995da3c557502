// A SearchResultEntry's body (RFC 4511 §4.5.2), shared by the search response and the
// pre-/post-read controls (RFC 4527), which carry one as their value.

import type { SearchEntry } from '../ldap/messages.js';
import { BerWriter, Tag } from './ber.js';

/** objectName and the PartialAttributeList of a SearchResultEntry (RFC 4511 §4.5.2). */
export function writeEntryBody(w: BerWriter, entry: SearchEntry): void {
  w.writeString(entry.dn);
  w.startSequence();
  for (const a of entry.attributes) {
    w.startSequence();
    w.writeString(a.type);
    w.startSequence(Tag.set);
    for (const v of a.values) {
      if (typeof v === 'string') w.writeString(v);
      else w.writeOctets(v);
    }
    w.endSequence();
    w.endSequence();
  }
  w.endSequence();
}
