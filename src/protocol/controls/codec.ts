// What every control codec shares: the operations a control applies to, and BER parsing of a
// control value where any decoding failure is a protocolError for that operation only.

import { ResultCode } from '../../ldap/result.js';
import { BerReader, InvalidValue } from '../ber.js';
import type { RequestControls } from '../../ldap/messages.js';

export type OpType = 'bind' | 'search' | 'modify' | 'add' | 'delete' | 'modifyDN' | 'compare' | 'extended';

export interface RequestControlCodec {
  readonly oid: string;
  /** The operations the control means something for; on others it is ignored, as before decoding. */
  readonly ops: readonly OpType[] | 'all';
  /** Decodes the value into its typed field of `into` (throws InvalidValue when malformed). */
  decode(value: Buffer | undefined, critical: boolean, into: RequestControls): void;
}

export function malformed(what: string): InvalidValue {
  return new InvalidValue(`${what} control value is malformed`, ResultCode.protocolError);
}

/** Runs a BER parse of a control value; trailing octets or any decoding failure are malformed. */
export function parseValue<T>(value: Buffer | undefined, what: string, fn: (r: BerReader) => T): T {
  if (value === undefined) throw malformed(what);
  try {
    const r = new BerReader(value);
    const v = fn(r);
    if (!r.atEnd()) throw malformed(what);
    return v;
  } catch (err) {
    if (err instanceof InvalidValue) throw err;
    throw malformed(what);
  }
}
