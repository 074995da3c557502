// The directory's side of the extended operations: what a handler is, and the dispatch of a
// decoded request to its handler. The handlers (password-modify.ts, who-am-i below) are joined
// to their codecs in the server's one table (server/extended.ts); a request with no handler
// here answers "unsupported extended operation", as slapd does.

import type { ExtendedRequest, ExtendedResponse, OperationContext } from '../ldap/messages.js';
import { LdapError, ResultCode, success } from '../ldap/result.js';
import type { Directory } from './directory.js';

export interface ExtendedHandler<R extends ExtendedRequest = ExtendedRequest> {
  /** The OID the root DSE advertises (supportedExtension). */
  readonly oid: string;
  /** The request kind (ldap/messages.ts) it answers. */
  readonly kind: R['kind'];
  handle(dir: Directory, ctx: OperationContext, req: R): Promise<ExtendedResponse>;
}

/** Who am I? (RFC 4532): the session's authorization identity, '' when anonymous. */
export async function whoAmI(_dir: Directory, ctx: OperationContext): Promise<ExtendedResponse> {
  return { ...success(), authzId: ctx.session.bindDn ? `dn:${ctx.session.bindDn}` : '' };
}

export class ExtendedHandlers {
  private readonly byKind: ReadonlyMap<string, ExtendedHandler>;

  constructor(readonly handlers: readonly ExtendedHandler[]) {
    this.byKind = new Map(handlers.map((h) => [h.kind, h]));
  }

  /** The OIDs of the operations with a handler (the root DSE's supportedExtension). */
  get oids(): string[] {
    return this.handlers.map((h) => h.oid);
  }

  run(dir: Directory, ctx: OperationContext, req: ExtendedRequest): Promise<ExtendedResponse> {
    const handler = this.byKind.get(req.kind);
    // slapd's words: clients' tests compare the text.
    if (!handler) throw new LdapError(ResultCode.protocolError, 'unsupported extended operation');
    return handler.handle(dir, ctx, req);
  }
}
