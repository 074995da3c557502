// The search filter on the wire (RFC 4511 §4.5.1.7): decoding from BER, on its own or inside a
// SearchRequest or an assertion control, and the RFC 4515 text form used in logs.

import type { Filter } from '../ldap/messages.js';
import { BerError, BerReader, InvalidValue, Tag } from './ber.js';

/** Deep enough for any real filter; stops stack exhaustion from crafted nesting. */
const MAX_FILTER_DEPTH = 64;

/** Reads the content of an AttributeValueAssertion: attributeDesc then assertionValue. */
export function readAva(r: BerReader): { attribute: string; value: Buffer } {
  const attribute = r.readString();
  const value = r.readOctets();
  return { attribute, value };
}

export function decodeFilter(r: BerReader, depth: number): Filter {
  if (depth > MAX_FILTER_DEPTH) throw new InvalidValue('filter nested too deeply');
  const tag = r.peek();
  if (tag === -1) throw new BerError('truncated', 'missing filter');
  if (tag === 0x87) {
    return { type: 'present', attribute: r.readString(0x87) };
  }
  const outer = r.enter();
  let f: Filter;
  switch (tag) {
    case 0xa0:
    case 0xa1: {
      const filters: Filter[] = [];
      while (!r.atEnd()) filters.push(decodeFilter(r, depth + 1));
      f = { type: tag === 0xa0 ? 'and' : 'or', filters };
      break;
    }
    case 0xa2:
      f = { type: 'not', filter: decodeFilter(r, depth + 1) };
      break;
    case 0xa3:
      f = { type: 'equality', ...readAva(r) };
      break;
    case 0xa5:
      f = { type: 'ge', ...readAva(r) };
      break;
    case 0xa6:
      f = { type: 'le', ...readAva(r) };
      break;
    case 0xa8:
      f = { type: 'approx', ...readAva(r) };
      break;
    case 0xa4:
      f = decodeSubstrings(r);
      break;
    case 0xa9:
      f = decodeExtensible(r);
      break;
    default:
      throw new InvalidValue(`unknown filter choice 0x${tag.toString(16)}`);
  }
  r.leave(outer);
  return f;
}

function decodeSubstrings(r: BerReader): Filter {
  const attribute = r.readString();
  const outer = r.enter(Tag.sequence);
  let initial: Buffer | undefined;
  let final: Buffer | undefined;
  const any: Buffer[] = [];
  let count = 0;
  while (!r.atEnd()) {
    const t = r.peek();
    const v = r.readOctets(t);
    // RFC 4511 §4.5.1.7.2: at most one initial, first; at most one final, last.
    if (final !== undefined) throw new InvalidValue('substrings: final must be the last element');
    if (t === 0x80) {
      if (count > 0) throw new InvalidValue('substrings: initial must be the first element');
      initial = v;
    } else if (t === 0x81) any.push(v);
    else if (t === 0x82) final = v;
    else throw new InvalidValue(`substrings: unknown choice 0x${t.toString(16)}`);
    count++;
  }
  if (count === 0) throw new InvalidValue('substrings: empty');
  r.leave(outer);
  const f: Filter = { type: 'substrings', attribute, any };
  if (initial !== undefined) f.initial = initial;
  if (final !== undefined) f.final = final;
  return f;
}

function decodeExtensible(r: BerReader): Filter {
  let rule: string | undefined;
  let attribute: string | undefined;
  let value: Buffer | undefined;
  let dnAttributes = false;
  while (!r.atEnd()) {
    const t = r.peek();
    if (t === 0x81) rule = r.readString(0x81);
    else if (t === 0x82) attribute = r.readString(0x82);
    else if (t === 0x83) value = r.readOctets(0x83);
    else if (t === 0x84) dnAttributes = r.readBoolean(0x84);
    else r.skip();
  }
  if (value === undefined) throw new InvalidValue('extensibleMatch without matchValue');
  const f: Filter = { type: 'extensible', value, dnAttributes };
  if (rule !== undefined) f.rule = rule;
  if (attribute !== undefined) f.attribute = attribute;
  return f;
}

/**
 * Decodes one BER Filter on its own, as carried in a control value (the assertion control,
 * RFC 4528). Throws on malformed input or trailing octets.
 */
export function decodeFilterValue(buf: Buffer): Filter {
  const r = new BerReader(buf);
  const f = decodeFilter(r, 0);
  if (!r.atEnd()) throw new InvalidValue('trailing octets after the filter');
  return f;
}

/** Attribute types whose assertion values are not logged. */
const SECRET_TYPE = /pass|secret|pw|pin|key|token/i;

/** A filter in RFC 4515 form for logs; values of password-like attributes are redacted. */
export function filterText(f: Filter): string {
  const v = (attr: string | undefined, b: Buffer) =>
    attr && SECRET_TYPE.test(attr)
      ? '***'
      : b.toString('utf8').replace(/[*()\\\0]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
  switch (f.type) {
    case 'and':
      return `(&${f.filters.map(filterText).join('')})`;
    case 'or':
      return `(|${f.filters.map(filterText).join('')})`;
    case 'not':
      return `(!${filterText(f.filter)})`;
    case 'equality':
      return `(${f.attribute}=${v(f.attribute, f.value)})`;
    case 'ge':
      return `(${f.attribute}>=${v(f.attribute, f.value)})`;
    case 'le':
      return `(${f.attribute}<=${v(f.attribute, f.value)})`;
    case 'approx':
      return `(${f.attribute}~=${v(f.attribute, f.value)})`;
    case 'present':
      return `(${f.attribute}=*)`;
    case 'substrings':
      return `(${f.attribute}=${f.initial ? v(f.attribute, f.initial) : ''}*${f.any.map((a) => v(f.attribute, a) + '*').join('')}${f.final ? v(f.attribute, f.final) : ''})`;
    case 'extensible':
      return `(${f.attribute ?? ''}${f.dnAttributes ? ':dn' : ''}${f.rule ? ':' + f.rule : ''}:=${v(f.attribute, f.value)})`;
  }
}
