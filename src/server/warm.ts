// Start-up warm-up of a large on-disk directory, before the listener opens: the first lookups
// after a start otherwise each paid for LevelDB opening table files (0.1-3 ms apiece) and for the
// first runs of the search and encoding code, so a client's first search took ~10x the steady
// latency. Bounded in time; skipped for small or in-memory directories (nothing to gain).

import type { Directory } from '../directory/directory.js';
import type { Frontend } from '../directory/frontend.js';
import { searchRequest, type SearchEntry } from '../ldap/messages.js';
import { BerWriter } from '../protocol/ber.js';
import { decodeMessage } from '../protocol/decode.js';
import { encodeSearchDone, encodeSearchEntry } from '../protocol/encode.js';
import type { Store } from '../store/types.js';

/** Below this many entries the database is read into the OS cache by the first few lookups anyway. */
const WARM_MIN_ENTRIES = 10_000;
const WARM_BUDGET_MS = 400;
const WARM_SEARCHES = 200;

/** Returns how many warm-up searches answered. */
export async function warmUp(store: Store, directory: Directory, frontend: Frontend, minEntries = WARM_MIN_ENTRIES): Promise<number> {
  let answered = 0;
  if (!store.warm || (await store.count()) < minEntries) return answered;
  const deadline = Date.now() + WARM_BUDGET_MS;
  const ndns = await store.warm(deadline - WARM_BUDGET_MS / 4);
  const ctx = directory.internalContext(directory.config.admin.dn, 'warm-up');
  const eq = [...store.indexes.values()].filter((s) => s.eq).map((s) => s.attr);
  for (const ndn of ndns.slice(0, WARM_SEARCHES)) {
    if (Date.now() > deadline) break;
    const rec = await store.get(ndn);
    if (!rec) continue;
    // Lookups by one of the entry's indexed values, alone and with its class (Asterisk's shape),
    // decoded from BER as requests arrive; then the entry by its DN. Answers encoded as sent.
    const attr = eq.find((a) => a !== 'objectclass' && rec.attrs[a]?.length) ?? 'objectclass';
    const value = rec.attrs[attr]?.[0];
    const lookups =
      value === undefined
        ? []
        : [undefined, rec.attrs['objectclass']?.at(-1)].map((oc) => searchPdu(directory.config.suffix, attr, value, oc));
    const base = searchRequest(rec.dn, { scope: 'base' });
    const send = (e: SearchEntry): void => void encodeSearchEntry(1, e);
    try {
      for (const pdu of lookups) {
        const { op } = decodeMessage(pdu);
        if (op.type === 'search') encodeSearchDone(1, await frontend.search(ctx, op.request, send));
      }
      encodeSearchDone(1, await frontend.search(ctx, base, send));
      answered++;
    } catch {
      // A warm-up search that fails (an odd entry) only warms less.
    }
  }
  return answered;
}

/**
 * A SearchRequest PDU (RFC 4511 §4.5.1) for (&(objectClass=oc)(attr=value)) under base, the
 * shape of Asterisk's lookups, or (attr=value) without a class.
 */
function searchPdu(base: string, attr: string, value: string, oc: string | undefined): Buffer {
  const w = new BerWriter(256);
  const equality = (a: string, v: string) => {
    w.startSequence(0xa3);
    w.writeString(a);
    w.writeString(v);
    w.endSequence();
  };
  w.startSequence();
  w.writeInteger(1);
  w.startSequence(0x63);
  w.writeString(base);
  w.writeEnumerated(2);
  w.writeEnumerated(0);
  w.writeInteger(0);
  w.writeInteger(0);
  w.writeBoolean(false);
  if (oc) {
    w.startSequence(0xa0);
    equality('objectClass', oc);
    equality(attr, value);
    w.endSequence();
  } else equality(attr, value);
  w.startSequence();
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.toBuffer();
}
