// Decoding of one LDAPMessage PDU (RFC 4511 §4) into the plain request types of the seam
// (ldap/messages.ts), controls and extended values included (each by its codec). Any problem is a ProtocolError carrying what was decoded so far, so
// the connection can answer protocolError for that operation or close the session.

import { isUtf8 } from 'node:buffer';
import { ResultCode } from '../ldap/result.js';
import type {
  AddRequest,
  AttributeValues,
  BindRequest,
  CompareRequest,
  Control,
  DeleteRequest,
  ExtendedRequest,
  ModifyDNRequest,
  ModifyOperation,
  ModifyRequest,
  SearchRequest,
  SearchScope,
  RequestControls,
} from '../ldap/messages.js';
import { BerError, BerReader, InvalidValue, Tag } from './ber.js';
import { decodeRequestControls, type OpType } from './controls/index.js';
import { NO_EXTENDED_OPERATIONS, type ExtendedCodecs } from './extended/index.js';
import { decodeFilter, readAva } from './filter.js';

/** Protocol op tags of requests (RFC 4511 §4.2 to §4.12). */
export const RequestTag = {
  bind: 0x60,
  unbind: 0x42,
  search: 0x63,
  modify: 0x66,
  add: 0x68,
  delete: 0x4a,
  modifyDN: 0x6c,
  compare: 0x6e,
  abandon: 0x50,
  extended: 0x77,
} as const;

export type RequestOp =
  | { type: 'bind'; request: BindRequest }
  | { type: 'unbind' }
  | { type: 'search'; request: SearchRequest }
  | { type: 'modify'; request: ModifyRequest }
  | { type: 'add'; request: AddRequest }
  | { type: 'delete'; request: DeleteRequest }
  | { type: 'modifyDN'; request: ModifyDNRequest }
  | { type: 'compare'; request: CompareRequest }
  | { type: 'abandon'; messageId: number }
  | { type: 'extended'; oid: string; request: ExtendedRequest };

export interface LdapMessage {
  messageId: number;
  op: RequestOp;
  /** The controls as sent (for the critical-extension check). */
  rawControls: Control[];
  /** The implemented controls that apply to this operation, decoded. */
  controls: RequestControls;
}

/**
 * A PDU that cannot be processed. `fatal` means the envelope itself is broken (RFC 4511 §4.1.1:
 * Notice of Disconnection and close); otherwise the operation can be answered with `resultCode`.
 */
export class ProtocolError extends Error {
  readonly messageId: number | undefined;
  /** The protocol op tag, when it was read. */
  readonly opTag: number | undefined;
  readonly fatal: boolean;
  readonly resultCode: number;

  constructor(message: string, opts: { messageId?: number; opTag?: number; fatal: boolean; resultCode?: number }) {
    super(message);
    this.name = 'ProtocolError';
    this.messageId = opts.messageId;
    this.opTag = opts.opTag;
    this.fatal = opts.fatal;
    this.resultCode = opts.resultCode ?? ResultCode.protocolError;
  }
}

const MAX_INT = 0x7fffffff;

const SCOPES: readonly SearchScope[] = ['base', 'one', 'sub', 'children'];
const MOD_OPS: readonly ModifyOperation[] = ['add', 'delete', 'replace', 'increment'];

function intInRange(n: number, min: number, max: number, what: string): number {
  if (n < min || n > max) throw new InvalidValue(`${what} out of range: ${n}`);
  return n;
}

/**
 * Decodes the LDAPMessage in buf[start, end) (one complete TLV, as framed by the connection);
 * an extended request's value by its codec in `extended`.
 */
export function decodeMessage(buf: Buffer, start = 0, end = buf.length, extended: ExtendedCodecs = NO_EXTENDED_OPERATIONS): LdapMessage {
  const r = new BerReader(buf, start, end);
  let messageId: number | undefined;
  let opTag: number | undefined;
  try {
    r.enter(Tag.sequence);
    messageId = r.readInteger();
    if (messageId < 0 || messageId > MAX_INT) throw new BerError('bad-value', `messageID ${messageId} out of range`);
    opTag = r.peek();
    if (opTag === -1) throw new BerError('truncated', 'no protocolOp');
    // The op is decoded after the controls: a structural error anywhere in the envelope is fatal,
    // while a bad op content can still be answered with the message's ID.
    const opStart = r.pos;
    const opEnd = r.readHeader();
    r.pos = opEnd;
    let controls: Control[] = [];
    // Elements after the op other than [0] controls are ignored (RFC 4511 §4: extensibility).
    while (!r.atEnd()) {
      if (r.peek() === 0xa0) controls = decodeControls(r);
      else r.skip();
    }
    const opReader = new BerReader(buf, opStart, opEnd);
    opReader.enter();
    const op = decodeOp(opTag, opReader, messageId, extended);
    const decoded = op.type === 'unbind' || op.type === 'abandon' ? {} : decodeRequestControls(controls, op.type as OpType);
    return { messageId, op, rawControls: controls, controls: decoded };
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    if (err instanceof InvalidValue) {
      throw new ProtocolError(err.message, { messageId, opTag, fatal: false, resultCode: err.resultCode });
    }
    if (err instanceof BerError) throw new ProtocolError(err.message, { messageId, opTag, fatal: true });
    throw err;
  }
}

function decodeControls(r: BerReader): Control[] {
  const outer = r.enter(0xa0);
  const controls: Control[] = [];
  while (!r.atEnd()) {
    const cOuter = r.enter(Tag.sequence);
    const oid = r.readString();
    let critical = false;
    let value: Buffer | undefined;
    while (!r.atEnd()) {
      const t = r.peek();
      if (t === Tag.boolean) critical = r.readBoolean();
      else if (t === Tag.octetString) value = r.readOctets();
      else r.skip();
    }
    r.leave(cOuter);
    controls.push(value === undefined ? { oid, critical } : { oid, critical, value });
  }
  r.leave(outer);
  return controls;
}

/**
 * An LDAPDN (or RDN): UTF-8 by RFC 4511 §4.1.3. Other bytes are invalidDNSyntax, as slapd answers;
 * decoded leniently they would become U+FFFD and name another entry than the client's.
 */
function dnOf(octets: Buffer, what: string): string {
  if (!isUtf8(octets)) throw new InvalidValue(`invalid ${what}: not valid UTF-8`, ResultCode.invalidDNSyntax);
  return octets.toString('utf8');
}

function readDn(r: BerReader, what = 'DN', tag: number = Tag.octetString): string {
  return dnOf(r.readOctets(tag), what);
}

/** The content of a primitive op (DelRequest, UnbindRequest, AbandonRequest). */
function primitive(r: BerReader): Buffer {
  return r.buf.subarray(r.pos, r.end);
}

function decodeOp(tag: number, r: BerReader, messageId: number, extended: ExtendedCodecs): RequestOp {
  switch (tag) {
    case RequestTag.bind:
      return { type: 'bind', request: decodeBind(r) };
    case RequestTag.unbind:
      return { type: 'unbind' };
    case RequestTag.search:
      return { type: 'search', request: decodeSearch(r) };
    case RequestTag.modify:
      return { type: 'modify', request: decodeModify(r) };
    case RequestTag.add:
      return { type: 'add', request: decodeAdd(r) };
    case RequestTag.delete:
      return { type: 'delete', request: { dn: dnOf(primitive(r), 'DN') } satisfies DeleteRequest };
    case RequestTag.modifyDN:
      return { type: 'modifyDN', request: decodeModifyDN(r) };
    case RequestTag.compare:
      return { type: 'compare', request: decodeCompare(r) };
    case RequestTag.abandon: {
      const v = primitive(r);
      if (v.length < 1 || v.length > 4) throw new BerError('bad-value', 'abandon: bad messageID');
      return { type: 'abandon', messageId: v.readIntBE(0, v.length) };
    }
    case RequestTag.extended:
      return decodeExtended(r, extended);
    default:
      throw new ProtocolError(`unknown protocol op 0x${tag.toString(16)}`, { messageId, opTag: tag, fatal: true });
  }
}

function decodeBind(r: BerReader): BindRequest {
  const version = r.readInteger();
  const name = readDn(r);
  const t = r.peek();
  if (t === 0x80) {
    return { version, name, auth: { kind: 'simple', password: r.readOctets(0x80) } };
  }
  if (t === 0xa3) {
    const outer = r.enter(0xa3);
    const mechanism = r.readString();
    const credentials = r.peek() === Tag.octetString ? r.readOctets() : undefined;
    r.leave(outer);
    return {
      version,
      name,
      auth: credentials === undefined ? { kind: 'sasl', mechanism } : { kind: 'sasl', mechanism, credentials },
    };
  }
  if (t === -1) throw new BerError('truncated', 'bind without authentication');
  throw new InvalidValue(`authentication choice 0x${t.toString(16)} not supported`, ResultCode.authMethodNotSupported);
}

function decodeSearch(r: BerReader): SearchRequest {
  const base = readDn(r, 'base DN');
  const scope = SCOPES[intInRange(r.readEnumerated(), 0, 3, 'scope')]!;
  const derefAliases = intInRange(r.readEnumerated(), 0, 3, 'derefAliases');
  const sizeLimit = intInRange(r.readInteger(), 0, MAX_INT, 'sizeLimit');
  const timeLimit = intInRange(r.readInteger(), 0, MAX_INT, 'timeLimit');
  const typesOnly = r.readBoolean();
  const filter = decodeFilter(r, 0);
  const attributes: string[] = [];
  const outer = r.enter(Tag.sequence);
  while (!r.atEnd()) attributes.push(r.readString());
  r.leave(outer);
  return { base, scope, derefAliases, sizeLimit, timeLimit, typesOnly, filter, attributes };
}

/** Reads a PartialAttribute SEQUENCE { type, vals SET OF value }. */
function readPartialAttribute(r: BerReader, what: string): AttributeValues {
  const outer = r.enter(Tag.sequence);
  const type = r.readString();
  const values: Buffer[] = [];
  const vOuter = r.enter(Tag.set);
  while (!r.atEnd()) values.push(r.readOctets());
  r.leave(vOuter);
  r.leave(outer);
  if (type === '') throw new InvalidValue(`${what}: empty attribute description`);
  return { type, values };
}

function decodeModify(r: BerReader): ModifyRequest {
  const dn = readDn(r);
  const outer = r.enter(Tag.sequence);
  const changes: ModifyRequest['changes'] = [];
  while (!r.atEnd()) {
    const cOuter = r.enter(Tag.sequence);
    const op = r.readEnumerated();
    const operation = MOD_OPS[op];
    const { type, values } = readPartialAttribute(r, 'modify');
    r.leave(cOuter);
    if (operation === undefined) throw new InvalidValue(`modify: unknown operation ${op}`);
    changes.push({ operation, type, values });
  }
  r.leave(outer);
  return { dn, changes };
}

function decodeAdd(r: BerReader): AddRequest {
  const dn = readDn(r);
  const outer = r.enter(Tag.sequence);
  const attributes: AttributeValues[] = [];
  while (!r.atEnd()) attributes.push(readPartialAttribute(r, 'add'));
  r.leave(outer);
  return { dn, attributes };
}

function decodeModifyDN(r: BerReader): ModifyDNRequest {
  const dn = readDn(r);
  const newRdn = readDn(r, 'new RDN');
  const deleteOldRdn = r.readBoolean();
  const req: ModifyDNRequest = { dn, newRdn, deleteOldRdn };
  if (r.peek() === 0x80) req.newSuperior = readDn(r, 'new superior DN', 0x80);
  return req;
}

function decodeCompare(r: BerReader): CompareRequest {
  const dn = readDn(r);
  const outer = r.enter(Tag.sequence);
  const { attribute, value } = readAva(r);
  r.leave(outer);
  return { dn, attribute, value };
}

function decodeExtended(r: BerReader, codecs: ExtendedCodecs): { type: 'extended'; oid: string; request: ExtendedRequest } {
  const oid = r.readString(0x80);
  const value = r.peek() === 0x81 ? r.readOctets(0x81) : undefined;
  return { type: 'extended', oid, request: codecs.decode(oid, value) };
}
