// LDAP Transactions (RFC 5805): Start Transaction (1.3.6.1.1.21.1) has no request value and
// answers the identifier as its responseValue; End Transaction (1.3.6.1.1.21.3) carries
// txnEndReq ::= SEQUENCE { commit BOOLEAN DEFAULT TRUE, identifier OCTET STRING } and answers
// txnEndRes ::= SEQUENCE { messageID OPTIONAL, updatesControls OPTIONAL } when an update failed.

import type { ExtendedRequest, ExtendedResponse } from '../../ldap/messages.js';
import { OID } from '../../ldap/oids.js';
import { BerReader, BerWriter, InvalidValue, Tag } from '../ber.js';
import type { ExtendedCodec } from './codec.js';

export function decodeTxnStart(value: Buffer | undefined): Extract<ExtendedRequest, { kind: 'txnStart' }> {
  // slapd's words.
  if (value !== undefined) throw new InvalidValue('start transaction: no request data expected');
  return { kind: 'txnStart' };
}

export function decodeTxnEnd(value: Buffer | undefined): Extract<ExtendedRequest, { kind: 'txnEnd' }> {
  if (value === undefined || value.length === 0) throw new InvalidValue('end transaction: request data expected');
  try {
    const r = new BerReader(value);
    r.enter(Tag.sequence);
    const commit = r.peek() === Tag.boolean ? r.readBoolean() : true;
    const identifier = Buffer.from(r.readOctets());
    if (!r.atEnd()) throw new Error('unexpected element');
    r.end = value.length;
    if (!r.atEnd()) throw new Error('trailing data');
    return { kind: 'txnEnd', commit, identifier };
  } catch {
    throw new InvalidValue('end transaction: request data decoding error');
  }
}

/** txnEndRes with the failed update's message ID (updatesControls: none, pre/post-read are refused in a transaction). */
export function encodeTxnEndResponse(messageId: number): Buffer {
  const w = new BerWriter(16);
  w.startSequence();
  w.writeInteger(messageId);
  w.endSequence();
  return Buffer.from(w.toBuffer());
}

/** The two codecs, each its OID, request kind, decoder and responseValue (one row each in a table of extended operations). */
export const txnStartCodec: ExtendedCodec<Extract<ExtendedRequest, { kind: 'txnStart' }>> = {
  oid: OID.txnStart,
  kind: 'txnStart',
  decode: decodeTxnStart,
  encode: (res: ExtendedResponse): Buffer | undefined => res.txnId,
};

export const txnEndCodec: ExtendedCodec<Extract<ExtendedRequest, { kind: 'txnEnd' }>> = {
  oid: OID.txnEnd,
  kind: 'txnEnd',
  decode: decodeTxnEnd,
  encode: (res: ExtendedResponse): Buffer | undefined =>
    res.txnFailedMessageId === undefined ? undefined : encodeTxnEndResponse(res.txnFailedMessageId),
};
