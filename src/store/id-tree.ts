// Layout 3's keys and the record header (docs/store-layout-3.md): an entry is known by an ID,
// its place by a dn2id key under its parent's ID (so a subtree that moves keeps every key below
// its top), its record by its ID, holding its parent's ID and its RDN ahead of the attributes.
//
//   n\0<parent id>\0<nrdn>  → id    dn2id (an entry whose parent is not stored, and every
//                                   top-level one, is under ROOT with its whole ndn as nrdn)
//   r\0<id>                 → <parent id><nrdn>\0<rdn>\0<record, record-codec.ts, as latin1>
//   a\0<number id>          → an attribute name of the records (the AttrTable)

import { idKey, idKeyLength } from './id-list.js';
import { SEP } from './postings.js';

/** The ID of the root DSE, and the parent of every top-level entry and of entries without a stored parent. */
export const ROOT = idKey(0);

export const dn2idKey = (parent: string, nrdn: string): string => 'n' + SEP + parent + SEP + nrdn;
export const recordKey = (id: string): string => 'r' + SEP + id;
export const attrKey = (n: number): string => 'a' + SEP + idKey(n);

/** Where the first RDN of a DN (user form) ends: its first ',' outside escapes and quotes. */
export function rdnEnd(dn: string): number {
  let quoted = false;
  for (let i = 0; i < dn.length; i++) {
    const c = dn.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22 /* " */) quoted = !quoted;
    else if (c === 0x2c /* , */ && !quoted) return i;
  }
  return dn.length;
}

/** The head of a stored record. */
export interface RecordHead {
  parent: string;
  nrdn: string;
  rdn: string;
  /** Where the codec's bytes start in the stored value. */
  body: number;
}

export function encodeStored(parent: string, nrdn: string, rdn: string, body: Uint8Array): string {
  return parent + nrdn + SEP + rdn + SEP + Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
}

export function readHead(stored: string): RecordHead {
  const p = idKeyLength(stored);
  const a = stored.indexOf(SEP, p);
  const b = stored.indexOf(SEP, a + 1);
  if (a < 0 || b < 0) throw new RangeError('a layout-3 record without its head');
  return { parent: stored.slice(0, p), nrdn: stored.slice(p, a), rdn: stored.slice(a + 1, b), body: b + 1 };
}

export const bodyBytes = (stored: string, head: RecordHead): Uint8Array => Buffer.from(stored.slice(head.body), 'latin1');

/** Attribute keys the store keeps apart as operational (RFC 4512, 3045, 4530, 5020, the sync and password policy ones). */
const OPERATIONAL = new Set([
  'createtimestamp',
  'modifytimestamp',
  'creatorsname',
  'modifiersname',
  'structuralobjectclass',
  'entryuuid',
  'entrycsn',
  'entrydn',
  'subschemasubentry',
  'hassubordinates',
  'contextcsn',
  'pwdchangedtime',
  'pwdaccountlockedtime',
  'pwdfailuretime',
  'pwdhistory',
  'pwdgraceusetime',
  'pwdreset',
  'pwdpolicysubentry',
]);

export const isOperational = (attr: string): boolean => OPERATIONAL.has(attr);
