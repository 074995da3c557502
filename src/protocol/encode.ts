// Encoding of LDAP responses (RFC 4511 §4.2 to §4.13) into complete LDAPMessage PDUs. Each
// function returns one Buffer ready for the socket: a response is encoded exactly once.

import {
  unpooled,
  type BindResponse,
  type Control,
  type ExtendedResponse,
  type LdapResult,
  type SearchEntry,
  type SyncInfo,
} from '../ldap/messages.js';
import { OID } from '../ldap/oids.js';
import { BerWriter } from './ber.js';
import { RequestTag } from './decode.js';
import { encodeEntryControls, encodeResponseControls } from './controls/index.js';
import { encodeSyncInfo } from './controls/sync.js';
import { writeEntryBody } from './entry.js';

/** Protocol op tags of responses. */
export const ResponseTag = {
  bind: 0x61,
  searchEntry: 0x64,
  searchDone: 0x65,
  modify: 0x67,
  add: 0x69,
  delete: 0x6b,
  modifyDN: 0x6d,
  compare: 0x6f,
  extended: 0x78,
  intermediate: 0x79,
} as const;

export interface IntermediateResponse {
  oid?: string;
  value?: Buffer;
  controls?: Control[];
}

function start(messageId: number, opTag: number, sizeHint = 128): BerWriter {
  const w = new BerWriter(sizeHint);
  w.startSequence();
  w.writeInteger(messageId);
  w.startSequence(opTag);
  return w;
}

function finish(w: BerWriter, controls: Control[] | undefined): Buffer {
  w.endSequence();
  if (controls && controls.length > 0) {
    w.startSequence(0xa0);
    for (const c of controls) {
      w.startSequence();
      w.writeString(c.oid);
      if (c.critical) w.writeBoolean(true);
      if (c.value !== undefined) w.writeOctets(c.value);
      w.endSequence();
    }
    w.endSequence();
  }
  w.endSequence();
  return w.toBuffer();
}

function writeResult(w: BerWriter, r: LdapResult): void {
  w.writeEnumerated(r.code);
  w.writeString(r.matchedDN);
  w.writeString(r.message);
}

/** Any response that is a bare LDAPResult (search done, modify, add, delete, modDN, compare). */
export function encodeResult(messageId: number, opTag: number, result: LdapResult): Buffer {
  const w = start(messageId, opTag);
  writeResult(w, result);
  return finish(w, encodeResponseControls(result.controls));
}

export function encodeBindResponse(messageId: number, res: BindResponse): Buffer {
  const w = start(messageId, ResponseTag.bind);
  writeResult(w, res);
  if (res.serverSaslCreds !== undefined) w.writeOctets(res.serverSaslCreds, 0x87);
  return finish(w, encodeResponseControls(res.controls));
}

/** Encoded bodies of the entries the directory reuses (SearchEntry.reusable), by entry object. */
const bodies = new WeakMap<SearchEntry, Buffer>();

/** A reusable entry's body, encoded once. */
function keptBody(entry: SearchEntry): Buffer {
  let body = bodies.get(entry);
  if (!body) {
    const w = new BerWriter(512);
    writeEntryBody(w, entry);
    body = unpooled(w.toBuffer());
    bodies.set(entry, body);
  }
  return body;
}

export function encodeSearchEntry(messageId: number, entry: SearchEntry): Buffer {
  const body = entry.reusable ? keptBody(entry) : undefined;
  const w = start(messageId, ResponseTag.searchEntry, body ? body.length + 32 : 512);
  if (body) w.writeRaw(body);
  else writeEntryBody(w, entry);
  return finish(w, encodeEntryControls(entry));
}

/** A Sync Info message (RFC 4533 §2.5) as an IntermediateResponse of the sync search. */
export function encodeSyncInfoResponse(messageId: number, info: SyncInfo): Buffer {
  return encodeIntermediateResponse(messageId, { oid: OID.syncInfo, value: encodeSyncInfo(info) });
}

export function encodeSearchDone(messageId: number, res: LdapResult): Buffer {
  return encodeResult(messageId, ResponseTag.searchDone, res);
}

export function encodeModifyResponse(messageId: number, res: LdapResult): Buffer {
  return encodeResult(messageId, ResponseTag.modify, res);
}

export function encodeAddResponse(messageId: number, res: LdapResult): Buffer {
  return encodeResult(messageId, ResponseTag.add, res);
}

export function encodeDeleteResponse(messageId: number, res: LdapResult): Buffer {
  return encodeResult(messageId, ResponseTag.delete, res);
}

export function encodeModifyDNResponse(messageId: number, res: LdapResult): Buffer {
  return encodeResult(messageId, ResponseTag.modifyDN, res);
}

export function encodeCompareResponse(messageId: number, res: LdapResult): Buffer {
  return encodeResult(messageId, ResponseTag.compare, res);
}

/** An extended response; `value` is the responseValue its codec made (extended/). */
export function encodeExtendedResponse(messageId: number, res: ExtendedResponse, value?: Buffer): Buffer {
  const w = start(messageId, ResponseTag.extended);
  writeResult(w, res);
  if (res.oid !== undefined) w.writeString(res.oid, 0x8a);
  if (value !== undefined) w.writeOctets(value, 0x8b);
  return finish(w, encodeResponseControls(res.controls));
}

export function encodeIntermediateResponse(messageId: number, res: IntermediateResponse): Buffer {
  const w = start(messageId, ResponseTag.intermediate);
  if (res.oid !== undefined) w.writeString(res.oid, 0x80);
  if (res.value !== undefined) w.writeOctets(res.value, 0x81);
  return finish(w, res.controls);
}

/** The unsolicited Notice of Disconnection (RFC 4511 §4.4.1): messageID 0, before closing. */
export function encodeNoticeOfDisconnection(code: number, message: string): Buffer {
  return encodeExtendedResponse(0, { code, matchedDN: '', message, oid: OID.noticeOfDisconnection });
}

/** Encodes the response of an operation type from a bare result (for errors and refusals). */
export type ResultEncoder = (messageId: number, res: LdapResult) => Buffer;

export const ENCODER_BY_OP_TAG: ReadonlyMap<number, ResultEncoder> = new Map<number, ResultEncoder>([
  [RequestTag.bind, encodeBindResponse],
  [RequestTag.search, encodeSearchDone],
  [RequestTag.modify, encodeModifyResponse],
  [RequestTag.add, encodeAddResponse],
  [RequestTag.delete, encodeDeleteResponse],
  [RequestTag.modifyDN, encodeModifyDNResponse],
  [RequestTag.compare, encodeCompareResponse],
  [RequestTag.extended, encodeExtendedResponse],
]);

export const ENCODER_BY_OP_TYPE: Readonly<Record<string, ResultEncoder>> = {
  bind: encodeBindResponse,
  search: encodeSearchDone,
  modify: encodeModifyResponse,
  add: encodeAddResponse,
  delete: encodeDeleteResponse,
  modifyDN: encodeModifyDNResponse,
  compare: encodeCompareResponse,
  extended: encodeExtendedResponse,
};
