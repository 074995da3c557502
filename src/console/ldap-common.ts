// What the console's LDAP-session routes share: the Asterisk layout (where each family's entries
// live, what their columns are called) and turning an LDAP or endpoint-command error into an
// answer that carries the server's own message.

import type { HttpResponse } from '../admin/index.js';
import { describeError, resultCode } from '../asterisk/ldap-client.js';
import { CommandError, EXIT, layoutOf, type Layout } from '../asterisk/session.js';
import { failure, json } from './web.js';

let shipped: Layout | undefined;
/** The shipped res_ldap.conf / extconfig.conf layout, read on first use. */
export const layout = (): Layout => (shipped ??= layoutOf({}));

/** An LDAP or endpoint-command error as an HTTP answer carrying the server's message. */
export function refused(e: unknown): HttpResponse {
  if (e instanceof CommandError) {
    const status = e.exit === EXIT.notFound ? 404 : e.exit === EXIT.exists ? 409 : 400;
    return failure(status, e.message);
  }
  const code = resultCode(e);
  if (code === undefined) throw e;
  return json(code === 50 ? 403 : code === 32 ? 404 : 400, { error: describeError(e), code });
}
