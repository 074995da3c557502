// LDIF (RFC 2849): parsing content and change records into plain data, and writing entries
// back out. Used for the seed, the embedding API's import/export and the CLI.

import { isUtf8 } from 'node:buffer';
import { createReadStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface LdifAttribute {
  type: string;
  values: Buffer[];
}

export type LdifRecord =
  | { kind: 'add'; dn: string; attributes: LdifAttribute[]; line: number }
  | { kind: 'delete'; dn: string; line: number }
  | {
      kind: 'modify';
      dn: string;
      changes: Array<{ operation: 'add' | 'delete' | 'replace' | 'increment'; type: string; values: Buffer[] }>;
      line: number;
    }
  | { kind: 'modrdn'; dn: string; newRdn: string; deleteOldRdn: boolean; newSuperior?: string; line: number };

export class LdifError extends Error {
  override name = 'LdifError';
  /**
   * Reading a file in runs: the first line of the run that failed, where nothing was applied
   * (the records before it may have been).
   */
  resumeLine?: number;
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`LDIF line ${line}: ${message}`);
  }
}

interface Line {
  text: string;
  no: number;
}

/**
 * Unfolds continuation lines and splits into blank-line separated records (comments dropped).
 * `base` is the number of lines before these (for line numbers in the whole file).
 */
function splitRecords(lines: string[], base: number): Line[][] {
  const records: Line[][] = [];
  let cur: Line[] = [];
  let inComment = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.startsWith(' ')) {
      if (inComment) continue;
      const last = cur[cur.length - 1];
      if (!last) throw new LdifError('continuation line with nothing to continue', base + i + 1);
      last.text += raw.slice(1);
      continue;
    }
    inComment = false;
    if (raw === '') {
      if (cur.length) records.push(cur);
      cur = [];
      continue;
    }
    if (raw.startsWith('#')) {
      inComment = true;
      continue;
    }
    cur.push({ text: raw, no: base + i + 1 });
  }
  if (cur.length) records.push(cur);
  return records;
}

interface Item {
  type: string;
  value: Buffer;
  no: number;
}

const typeRe = /^[A-Za-z0-9][A-Za-z0-9;.\-_]*$/;
const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);

/** One `type: value`, `type:: base64` or `type:< URL` line (a description, then the value). */
function parseLine(line: Line): Item {
  const text = line.text;
  // The separator between changes of one modify record.
  if (text === '-') return { type: '-', value: Buffer.alloc(0), no: line.no };
  const colon = text.indexOf(':');
  let type = colon > 0 ? text.slice(0, colon) : '';
  if (isSpace(type[type.length - 1])) type = type.trimEnd();
  if (!typeRe.test(type)) throw new LdifError(`cannot parse "${text.slice(0, 60)}"`, line.no);
  let p = colon + 1;
  const kind = text[p] === ':' || text[p] === '<' ? text[p++] : undefined;
  if (isSpace(text[p])) p++;
  const rest = text.slice(p);
  if (kind === ':') return { type, value: decodeBase64(rest.trim(), line.no), no: line.no };
  if (kind === '<') {
    const url = rest.trim();
    if (!url.startsWith('file://')) throw new LdifError(`unsupported URL ${url}`, line.no);
    return { type, value: readFileSync(fileURLToPath(url)), no: line.no };
  }
  // RFC 2849's SAFE-STRING has no NUL (nor CR, LF): such a value is written base64.
  if (rest.includes('\0'))
    throw new LdifError(`a NUL byte in the value of ${type}: such a value is written in base64 ("${type}:: ...")`, line.no);
  return { type, value: Buffer.from(rest.charCodeAt(0) === 0x20 ? rest.replace(/^ +/, '') : rest, 'utf8'), no: line.no };
}

/** RFC 4648 base64 as RFC 2849 writes it: whole quanta, padding only at the end. */
const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: string, no: number): Buffer {
  // Node's decoder skips what is not base64 and stops at the first '=': "QUJD=RA" would be "ABC".
  if (!base64Re.test(text)) throw new LdifError(`invalid base64 "${text.length > 40 ? text.slice(0, 40) + '...' : text}"`, no);
  return Buffer.from(text, 'base64');
}

export function parseLdif(text: string): LdifRecord[] {
  return parseLdifLines(text.split(/\r?\n/), 0);
}

/** parseLdif of text split into lines (without line ends); `base` lines came before them. */
function parseLdifLines(lines: string[], base: number): LdifRecord[] {
  const out: LdifRecord[] = [];
  for (const rec of splitRecords(lines, base)) {
    let i = 0;
    if (/^version\s*:/i.test(rec[0]!.text)) {
      i++;
      if (i >= rec.length) continue;
    }
    const first = parseLine(rec[i]!);
    if (first.type.toLowerCase() !== 'dn') throw new LdifError('record does not start with dn:', rec[i]!.no);
    // A DN is UTF-8 (RFC 4514): bytes that are not are refused, not stored as U+FFFD.
    if (!isUtf8(first.value)) throw new LdifError('invalid DN: not valid UTF-8 (invalidDNSyntax)', rec[i]!.no);
    const dn = first.value.toString('utf8');
    const line = rec[i]!.no;
    i++;
    const items: Item[] = [];
    for (let k = i; k < rec.length; k++) items.push(parseLine(rec[k]!));
    let j = 0;
    while (j < items.length && items[j]!.type.toLowerCase() === 'control') j++;
    const ct = items[j];
    if (!ct || ct.type.toLowerCase() !== 'changetype') {
      out.push({ kind: 'add', dn, attributes: groupAttributes(items.slice(j)), line });
      continue;
    }
    const change = ct.value.toString('utf8').trim().toLowerCase();
    const body = items.slice(j + 1);
    if (change === 'add') out.push({ kind: 'add', dn, attributes: groupAttributes(body), line });
    else if (change === 'delete') out.push({ kind: 'delete', dn, line });
    else if (change === 'modrdn' || change === 'moddn') {
      const get = (n: string) => {
        const item = body.find((b) => b.type.toLowerCase() === n);
        if (item && n !== 'deleteoldrdn' && !isUtf8(item.value))
          throw new LdifError(`invalid ${n}: not valid UTF-8 (invalidDNSyntax)`, item.no);
        return item?.value.toString('utf8');
      };
      const newRdn = get('newrdn');
      if (newRdn === undefined) throw new LdifError('modrdn without newrdn', line);
      out.push({ kind: 'modrdn', dn, newRdn, deleteOldRdn: get('deleteoldrdn') === '1', newSuperior: get('newsuperior'), line });
    } else if (change === 'modify') {
      const changes: Extract<LdifRecord, { kind: 'modify' }>['changes'] = [];
      let k = 0;
      while (k < body.length) {
        const op = body[k]!;
        const operation = op.type.toLowerCase();
        if (operation !== 'add' && operation !== 'delete' && operation !== 'replace' && operation !== 'increment') {
          throw new LdifError(`unknown modify operation ${op.type}`, op.no);
        }
        const type = op.value.toString('utf8').trim();
        const values: Buffer[] = [];
        k++;
        while (k < body.length && body[k]!.type !== '-') {
          values.push(body[k]!.value);
          k++;
        }
        k++; // skip '-'
        changes.push({ operation, type, values });
      }
      out.push({ kind: 'modify', dn, changes, line });
    } else throw new LdifError(`unknown changetype ${change}`, ct.no);
  }
  return out;
}

/**
 * An LDIF file read as a stream, parsed in runs of at most `maxRecords` records and about
 * `maxChars` characters of text (line numbers as in the whole file): memory stays bounded by one
 * run whatever the file's size or its entries' sizes. `onBytes` sees the bytes read so far (for a
 * progress display).
 */
export async function* readLdifChunks(
  file: string,
  maxRecords: number,
  onBytes?: (n: number) => void,
  maxChars = 16 << 20,
): AsyncGenerator<LdifRecord[]> {
  let buf: string[] = [];
  let chars = 0;
  let offset = 0; // lines before buf
  let records = 0;
  let inRecord = false;
  let ready: LdifRecord[][] = [];
  const flush = (): LdifRecord[] => {
    const base = offset;
    offset += buf.length;
    const lines = buf;
    buf = [];
    records = 0;
    chars = 0;
    try {
      return parseLdifLines(lines, base);
    } catch (err) {
      if (err instanceof LdifError) err.resumeLine = base + 1;
      throw err;
    }
  };
  const take = (line: string): void => {
    if (line === '' && inRecord) {
      inRecord = false;
      if (++records >= maxRecords || chars >= maxChars) {
        buf.push(line);
        ready.push(flush());
        return;
      }
    } else if (line !== '' && !line.startsWith('#') && !line.startsWith(' ')) inRecord = true;
    buf.push(line);
    chars += line.length + 1;
  };
  // The file is read one chunk (1 MiB) at a time as the consumer asks for runs: each chunk's
  // complete lines are decoded and taken in one synchronous pass (readline's iterator, or a
  // generator of lines, costs a promise per line; and readline does not wait for its consumer).
  // The bytes are decoded strictly: a file that is not UTF-8 is refused with its line, not
  // stored with U+FFFD in place of what it said (a value that is not text is written base64).
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let carry: Buffer[] = []; // the bytes of the line under way (no line end yet)
  const takeText = (bytes: Buffer): void => {
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      const lines = bytes.toString('latin1').split('\n');
      const bad = lines.findIndex((l) => !isUtf8(Buffer.from(l, 'latin1')));
      const err = new LdifError(
        'not valid UTF-8 (a value that is not UTF-8 text is written in base64, as "type:: ...")',
        offset + buf.length + bad + 1,
      );
      err.resumeLine = offset + 1;
      throw err;
    }
    const lines = text.split('\n');
    for (const l of lines) take(l.endsWith('\r') ? l.slice(0, -1) : l);
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const cut = chunk.lastIndexOf(0x0a);
    if (cut < 0) carry.push(chunk);
    else {
      // Line ends fall between characters in UTF-8: everything up to the last one decodes alone.
      carry.push(chunk.subarray(0, cut));
      takeText(carry.length === 1 ? carry[0]! : Buffer.concat(carry));
      carry = cut + 1 < chunk.length ? [chunk.subarray(cut + 1)] : [];
    }
    onBytes?.(stream.bytesRead);
    const out = ready;
    ready = [];
    for (const run of out) yield run;
  }
  if (carry.length) takeText(Buffer.concat(carry));
  onBytes?.(stream.bytesRead);
  for (const run of ready) yield run;
  if (buf.length) yield flush();
}

function groupAttributes(items: Array<{ type: string; value: Buffer }>): LdifAttribute[] {
  const byType = new Map<string, LdifAttribute>();
  for (const { type, value } of items) {
    const key = type.toLowerCase();
    const cur = byType.get(key);
    if (cur) cur.values.push(value);
    else byType.set(key, { type, values: [value] });
  }
  return [...byType.values()];
}

/** RFC 2849 SAFE-STRING check: anything else is written base64. */
function isSafe(v: Buffer): boolean {
  if (v.length === 0) return true;
  const c0 = v[0]!;
  if (c0 === 0x20 || c0 === 0x3a || c0 === 0x3c) return false;
  if (v[v.length - 1] === 0x20) return false;
  for (const c of v) if (c === 0 || c === 0x0a || c === 0x0d || c > 0x7f) return false;
  return true;
}

function fold(line: string): string {
  if (line.length <= 76) return line;
  const parts = [line.slice(0, 76)];
  for (let i = 76; i < line.length; i += 75) parts.push(' ' + line.slice(i, i + 75));
  return parts.join('\n');
}

export function formatLdifEntry(dn: string, attributes: Array<{ type: string; values: Array<string | Buffer> }>): string {
  const lines: string[] = [];
  const put = (type: string, v: Buffer) =>
    lines.push(fold(isSafe(v) ? `${type}: ${v.toString('latin1')}` : `${type}:: ${v.toString('base64')}`));
  put('dn', Buffer.from(dn, 'utf8'));
  for (const a of attributes) for (const v of a.values) put(a.type, typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
  return lines.join('\n') + '\n';
}
