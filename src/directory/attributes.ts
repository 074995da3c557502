// Attribute descriptions (type plus options, RFC 4512 §2.5) and the value codec: values are
// strings in the core; binary syntaxes hold one char per byte (latin1), text syntaxes UTF-8.

import { LdapError, ResultCode } from '../ldap/result.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { AttributeType } from '../schema/types.js';

export interface AttributeDescription {
  /** As the client wrote it. */
  text: string;
  type: AttributeType | undefined;
  /** Lowercased options, sorted (e.g. ['lang-en']). */
  options: string[];
  /** Key used in stored entries: type key plus ';options', or undefined for unknown types. */
  key: string | undefined;
}

const descrRe = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*$/;

export function isValidDescription(text: string): boolean {
  return descrRe.test(text);
}

/** Shared by every description without options: never changed (frozen). */
const NO_OPTIONS = Object.freeze([]) as unknown as string[];

export function parseDescription(schema: SchemaRegistry, text: string): AttributeDescription {
  if (!text.includes(';')) {
    // No options (nearly every description): the type's own key.
    const type = schema.attributeType(text);
    return { text, type, options: NO_OPTIONS, key: type?.key };
  }
  const parts = text.split(';');
  const type = schema.attributeType(parts[0]!);
  const options = parts
    .slice(1)
    .map((o) => o.toLowerCase())
    .filter((o) => o !== 'binary')
    .sort();
  const key = type ? (options.length ? `${type.key};${options.join(';')}` : type.key) : undefined;
  return { text, type, options, key };
}

/** Like parseDescription, but an unknown or malformed type is an undefinedAttributeType error. */
export function requireDescription(schema: SchemaRegistry, text: string): AttributeDescription & { type: AttributeType; key: string } {
  if (!isValidDescription(text)) throw new LdapError(ResultCode.undefinedAttributeType, `${text}: attribute type undefined`);
  const d = parseDescription(schema, text);
  if (!d.type || !d.key) throw new LdapError(ResultCode.undefinedAttributeType, `${text}: attribute type undefined`);
  return d as AttributeDescription & { type: AttributeType; key: string };
}

/** The base type key of a stored attribute key ('cn;lang-en' → 'cn'). */
export function baseKey(key: string): string {
  const i = key.indexOf(';');
  return i < 0 ? key : key.slice(0, i);
}

/** The name to return for a stored key: the schema's canonical name plus the stored options. */
export function displayName(schema: SchemaRegistry, key: string): string {
  const i = key.indexOf(';');
  const base = i < 0 ? key : key.slice(0, i);
  const t = schema.attributeType(base);
  const name = t ? t.name : base;
  return i < 0 ? name : name + key.slice(i);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Wire octets → core string; invalid UTF-8 in a text syntax is an invalidAttributeSyntax error. */
export function decodeValue(type: AttributeType, value: Buffer, label = type.name): string {
  if (type.syntax.binary) return value.toString('latin1');
  try {
    return utf8.decode(value);
  } catch {
    throw new LdapError(ResultCode.invalidAttributeSyntax, `${label}: value is not valid UTF-8`);
  }
}

/** Core string → what the protocol layer sends (string = UTF-8). */
export function encodeValue(type: AttributeType | undefined, value: string): string | Buffer {
  // In ASCII the latin1 bytes and the UTF-8 bytes of the text are the same, so such a value (a
  // {SSHA} userPassword) goes out as the text itself: a small Buffer is a slice of Node's shared
  // pool, and one kept with a cached entry's formatted form kept that whole 8 KiB slab alive.
  return type?.syntax.binary && !ASCII.test(value) ? Buffer.from(value, 'latin1') : value;
}

const ASCII = /^[\x00-\x7f]*$/;

/** Best-effort decode of an assertion value for matching: never throws. */
export function assertionString(type: AttributeType | undefined, value: Buffer): string {
  return type?.syntax.binary ? value.toString('latin1') : value.toString('utf8');
}
