// The extended operations the server implements, in one table (as slapd's builtin_extops[]):
// each row joins an OID's request codec (protocol/extended/) to its handler (directory/). The
// listener decodes with the table, the frontend dispatches with it, and the root DSE's
// supportedExtension is its OIDs. A new operation is a codec file, a handler file and one row
// here; an OID with no row answers "unsupported extended operation". StartTLS is the
// connection's own (protocol/connection.ts) and is not a row.

import { passwordModify } from '../directory/password-modify.js';
import { whoAmI, type ExtendedHandler } from '../directory/extended.js';
import { txnEnd, txnStart } from '../directory/txn.js';
import type { FrontendOptions } from '../directory/frontend.js';
import type { ExtendedRequest } from '../ldap/messages.js';
import { OID } from '../ldap/oids.js';
import { requestControlOids } from '../protocol/controls/index.js';
import { ExtendedCodecs, type ExtendedCodec } from '../protocol/extended/index.js';
import { passwordModifyCodec } from '../protocol/extended/password-modify.js';
import { txnEndCodec, txnStartCodec } from '../protocol/extended/txn.js';
import { whoAmICodec } from '../protocol/extended/who-am-i.js';

/** One row: the codec and the handler of one OID. */
export type ExtendedOperation = ExtendedCodec & ExtendedHandler;

/** Joins a codec and a handler of the same request kind (the types must agree). */
function operation<R extends ExtendedRequest>(codec: ExtendedCodec<R>, handle: ExtendedHandler<R>['handle']): ExtendedOperation {
  return { ...codec, handle } as ExtendedOperation;
}

export const EXTENDED_OPERATIONS: readonly ExtendedOperation[] = [
  operation(passwordModifyCodec, passwordModify),
  operation(whoAmICodec, whoAmI),
  operation(txnStartCodec, (dir, ctx) => txnStart(dir, ctx)),
  operation(txnEndCodec, (dir, ctx, req) => txnEnd(dir, ctx, req)),
];

/** The listener's view of the table: the codecs by OID. */
export const extendedCodecs = new ExtendedCodecs(EXTENDED_OPERATIONS);

/** The frontend's view: the handlers, and the request controls the protocol layer decodes. */
export function frontendOptions(): FrontendOptions {
  // StartTLS is the connection's own (protocol/connection.ts) and always offered on ldap://: the
  // server has TLS (configured, or its development pair), and slapd advertises it then too.
  return { extended: EXTENDED_OPERATIONS, controls: requestControlOids(), connectionExtensions: [OID.startTls] };
}
