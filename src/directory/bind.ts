// Bind (RFC 4511 §4.2): anonymous and simple binds against the configured administrator or an
// entry's userPassword, and SASL EXTERNAL (RFC 4422 appendix A) on ldapi://, where the socket's
// file permissions are the authentication. Other SASL mechanisms: authMethodNotSupported.

import { verifyPassword } from '../access/passwords.js';
import type { BindRequest, BindResponse, OperationContext } from '../ldap/messages.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import type { Directory } from './directory.js';

export async function bind(dir: Directory, ctx: OperationContext, req: BindRequest): Promise<BindResponse> {
  const session = ctx.session;
  // A bind, even a failed one, first drops the current identity (RFC 4511 §4.2.1).
  session.bindDn = '';
  session.bindNdn = '';
  session.authMethod = 'anonymous';
  if (req.version !== 3) throw new LdapError(ResultCode.protocolError, 'requested protocol version not allowed');
  if (req.auth.kind === 'sasl') return saslBind(dir, ctx, req.auth.mechanism, req.auth.credentials);
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
  if (dir.config.tls.requireForBind && !session.tls && session.transport !== 'ldapi') {
    throw new LdapError(ResultCode.confidentialityRequired, 'TLS confidentiality required');
  }
  const throttle = dir.throttle;
  // Per DN always; per client address except for local clients (loopback, ldapi), where one
  // address is every local program and a spraying attacker is already on the machine.
  const local = session.transport === 'ldapi' || /^(127\.|::1$|::ffff:127\.)/.test(session.remoteAddress);
  const keys = local ? [`dn:${ndn}`] : [`dn:${ndn}`, `ip:${session.remoteAddress}`];
  // Repeated failures for this DN or from this address slow every further attempt down.
  const wait = throttle.delay(keys);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  let ok = false;
  if (ndn === dir.adminNdn) {
    ok = await verifyPassword(dir.config.admin.password, password);
  } else {
    const rec = await dir.store.get(ndn);
    const stored = rec?.attrs['userpassword'] ?? [];
    for (const s of stored) {
      if (await verifyPassword(s, password)) {
        ok = true;
        break;
      }
    }
    // An unknown DN, or one without a password, costs what a wrong password costs, so the
    // answer's timing does not tell which entries exist.
    if (!stored.length) await verifyPassword(await throttle.dummyHash(dir.config.passwordScheme), password);
  }
  if (!ok) {
    throttle.fail(keys);
    dir.log.info(`bind failed for "${req.name}" from ${session.remoteAddress}`);
    throw new LdapError(ResultCode.invalidCredentials, '');
  }
  throttle.succeed(keys[0]!);
  session.bindDn = req.name;
  session.bindNdn = ndn;
  session.authMethod = 'simple';
  return { code: ResultCode.success, matchedDN: '', message: '' };
}

async function saslBind(dir: Directory, ctx: OperationContext, mechanism: string, credentials: Buffer | undefined): Promise<BindResponse> {
  const session = ctx.session;
  if (mechanism.toUpperCase() !== 'EXTERNAL') {
    throw new LdapError(ResultCode.authMethodNotSupported, `SASL mechanism ${mechanism} not supported`);
  }
  if (session.transport !== 'ldapi' && !session.tlsPeerDn) {
    throw new LdapError(ResultCode.inappropriateAuthentication, 'SASL EXTERNAL needs ldapi:// or a verified TLS client certificate');
  }
  const identity = session.transport === 'ldapi' ? dir.externalDn : session.tlsPeerDn!;
  const identityNdn = session.transport === 'ldapi' ? dir.externalNdn : normalizeOrEmpty(dir, identity);
  // An authorization identity may be asked for, but only the one the connection already has.
  const authz = credentials?.toString('utf8') ?? '';
  if (authz !== '') {
    let ok = false;
    if (/^dn:/i.test(authz)) {
      try {
        ok = dir.normalize(authz.slice(3)) === identityNdn;
      } catch {
        ok = false;
      }
    }
    if (!ok)
      throw new LdapError(ResultCode.insufficientAccessRights, 'SASL(-14): authorization failure: not authorized to assume that identity');
  }
  session.bindDn = identity;
  session.bindNdn = identityNdn;
  session.authMethod = 'sasl';
  return { code: ResultCode.success, matchedDN: '', message: '' };
}

/** A certificate subject may use attribute types the schema lacks; it is then matched as given. */
function normalizeOrEmpty(dir: Directory, dn: string): string {
  try {
    return dir.normalize(dn);
  } catch {
    return dn.toLowerCase();
  }
}
