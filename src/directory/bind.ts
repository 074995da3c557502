// Bind (RFC 4511 §4.2): anonymous and simple binds against the configured administrator or an
// entry's userPassword. SASL mechanisms are answered honestly: none is offered yet.

import { LdapError, ResultCode } from '../errors.js';
import { verifyPassword } from '../access/passwords.js';
import type { Directory } from './directory.js';
import type { BindRequest, BindResponse, OperationContext } from './requests.js';

export async function bind(dir: Directory, ctx: OperationContext, req: BindRequest): Promise<BindResponse> {
  const session = ctx.session;
  // A bind, even a failed one, first drops the current identity (RFC 4511 §4.2.1).
  session.bindDn = '';
  session.bindNdn = '';
  session.authMethod = 'anonymous';
  if (req.version !== 3) throw new LdapError(ResultCode.protocolError, 'requested protocol version not allowed');
  if (req.auth.kind === 'sasl') {
    throw new LdapError(ResultCode.authMethodNotSupported, `SASL mechanism ${req.auth.mechanism} not supported`);
  }
  const password = req.auth.password;
  if (req.name === '') {
    if (password.length > 0) throw new LdapError(ResultCode.unwillingToPerform, 'unauthenticated bind (DN with no password) disallowed');
    return { code: ResultCode.success, matchedDN: '', message: '' };
  }
  let ndn: string;
  try {
    ndn = dir.normalize(req.name);
  } catch {
    throw new LdapError(ResultCode.invalidDNSyntax, 'invalid DN');
  }
  if (password.length === 0) {
    throw new LdapError(ResultCode.unwillingToPerform, 'unauthenticated bind (DN with no password) disallowed');
  }
  let ok = false;
  if (ndn === dir.adminNdn) {
    ok = await verifyPassword(dir.config.admin.password, password);
  } else {
    const rec = await dir.store.get(ndn);
    for (const stored of rec?.attrs['userpassword'] ?? []) {
      if (await verifyPassword(stored, password)) {
        ok = true;
        break;
      }
    }
  }
  if (!ok) {
    dir.log.info(`bind failed for "${req.name}" from ${session.remoteAddress}`);
    throw new LdapError(ResultCode.invalidCredentials, '');
  }
  session.bindDn = req.name;
  session.bindNdn = ndn;
  session.authMethod = 'simple';
  return { code: ResultCode.success, matchedDN: '', message: '' };
}
