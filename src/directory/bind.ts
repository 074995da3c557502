// Bind (RFC 4511 §4.2): anonymous and simple binds against the configured administrator or an
// entry's userPassword, and SASL EXTERNAL (RFC 4422 appendix A) on ldapi://, where the socket's
// file permissions are the authentication. Other SASL mechanisms: authMethodNotSupported.
// Simple binds to entries under a password policy: lockout, expiry, reset (ppolicy-bind.ts).

import { splitScheme, verifyPassword } from '../access/passwords.js';
import { PasswordPolicyError, type BindRequest, type BindResponse, type OperationContext } from '../ldap/messages.js';
import type { PasswordScheme } from '../config/config.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import { BindThrottle } from './bind-throttle.js';
import type { Directory } from './directory.js';
import { policyControl, policyFor } from './ppolicy.js';
import { bindSucceeded, isLocked, recordFailure } from './ppolicy-bind.js';

export async function bind(dir: Directory, ctx: OperationContext, req: BindRequest): Promise<BindResponse> {
  const session = ctx.session;
  // A bind, even a failed one, first drops the current identity (RFC 4511 §4.2.1).
  session.bindDn = '';
  session.bindNdn = '';
  session.authMethod = 'anonymous';
  session.mustChangePassword = false;
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
  const local = session.transport === 'ldapi' || /^(127\.|::1$|::ffff:127\.)/.test(session.remoteAddress);
  const keys = BindThrottle.keys(ndn, session.remoteAddress || session.transport, local);
  // Counted before the password is checked: parallel guesses queue behind each other.
  const wait = throttle.attempt(keys);
  if (wait > 0) {
    try {
      await throttle.wait(keys, wait, ctx.signal);
    } catch {
      throw new LdapError(ResultCode.cancelled, 'client went away');
    }
  }
  const rec = ndn === dir.adminNdn ? undefined : await dir.store.get(ndn);
  const stored = ndn === dir.adminNdn ? [dir.config.admin.password] : (rec?.attrs['userpassword'] ?? []);
  const policy = rec ? await policyFor(dir, rec.attrs) : undefined;
  // A locked account fails whatever the password (slapd checks none); the check it would have
  // cost is still paid, so the answer's timing does not tell a locked account from a wrong password.
  const locked = policy !== undefined && isLocked(policy, rec!.attrs);
  let ok = false;
  for (const s of locked ? [] : stored) {
    if (await verifyPassword(s, password)) {
      ok = true;
      break;
    }
  }
  // Every failed bind costs at least one check in the configured scheme: an unknown DN, an entry
  // without a password, and a cleartext or fast-hashed one (the administrator's, say) are padded
  // with a check against a dummy hash, so a guesser's timing tells neither which DNs exist nor
  // which is the admin. A bind with the right password is not padded: its client knew already.
  if (!ok && (locked || needsPadding(stored, dir.config.passwordScheme))) {
    await verifyPassword(await throttle.dummyHash(dir.config.passwordScheme), password);
  }
  if (locked) {
    dir.log.info(`bind refused for "${req.name}" from ${session.remoteAddress}: account locked`);
    // Only a client that asked for the control learns why (and only with passwordPolicy.useLockout).
    const error = dir.config.passwordPolicy.useLockout ? { error: PasswordPolicyError.accountLocked } : {};
    throw new LdapError(ResultCode.invalidCredentials, '').with(policyControl(ctx, error));
  }
  if (!ok) {
    dir.log.info(`bind failed for "${req.name}" from ${session.remoteAddress}`);
    if (policy) await recordFailure(dir, ndn, policy);
    throw new LdapError(ResultCode.invalidCredentials, '').with(policy ? policyControl(ctx, {}) : undefined);
  }
  const outcome = policy ? await bindSucceeded(dir, ndn, policy, rec!) : undefined;
  if (outcome?.expired) {
    dir.log.info(`bind refused for "${req.name}" from ${session.remoteAddress}: password expired`);
    throw new LdapError(ResultCode.invalidCredentials, '').with(policyControl(ctx, outcome.response));
  }
  throttle.succeed(keys);
  session.bindDn = req.name;
  session.bindNdn = ndn;
  session.authMethod = 'simple';
  if (outcome?.mustChange) session.mustChangePassword = true;
  const controls = outcome ? policyControl(ctx, outcome.response) : undefined;
  return { code: ResultCode.success, matchedDN: '', message: '', ...(controls ? { controls } : {}) };
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

/** True when none of the stored values is a hash in the configured scheme (the cost a bind is padded to). */
export function needsPadding(stored: string[], scheme: PasswordScheme): boolean {
  return !stored.some((s) => splitScheme(s)?.[0] === scheme);
}
