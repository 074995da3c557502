// Password Modify (RFC 3062): users change their own password (with the old one, when given),
// administrators and whom the access rules allow change anyone's; without a new password the
// server generates one. The new value passes the password policy (ppolicy.ts), is hashed and
// written through the write path.

import { randomInt } from 'node:crypto';
import { hashPassword, verifyPassword } from '../access/passwords.js';
import type { ExtendedRequest, ExtendedResponse, OperationContext } from '../ldap/messages.js';
import { LdapError, ResultCode, success } from '../ldap/result.js';
import type { Directory } from './directory.js';
import { checkChange, policyFor, recordChange } from './ppolicy.js';
import { copyAttributes, type TransactionRunner } from './write.js';

type PasswordModifyRequest = Extract<ExtendedRequest, { kind: 'passwordModify' }>;

/** Unambiguous characters (no 0/O, 1/l/I) for generated passwords. */
const GEN_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const GEN_LENGTH = 20;

export function generatePassword(length = GEN_LENGTH): string {
  let s = '';
  for (let i = 0; i < length; i++) s += GEN_ALPHABET[randomInt(GEN_ALPHABET.length)];
  return s;
}

export async function passwordModify(
  dir: Directory,
  ctx: OperationContext,
  req: PasswordModifyRequest,
  run: TransactionRunner = (fn) => dir.writer.transaction(fn),
): Promise<ExtendedResponse> {
  const session = ctx.session;
  if (session.bindNdn === '') {
    throw new LdapError(ResultCode.strongerAuthRequired, 'only authenticated users may change passwords');
  }
  if (dir.config.tls.requireForBind && !session.tls && session.transport !== 'ldapi') {
    throw new LdapError(ResultCode.confidentialityRequired, 'TLS confidentiality required');
  }
  let dn: string;
  let ndn: string;
  if (req.userIdentity !== undefined) {
    dn = req.userIdentity;
    ndn = dir.normalize(dn); // invalidDNSyntax when it is not a DN
  } else {
    dn = session.bindDn;
    ndn = session.bindNdn;
  }
  if (ndn === dir.adminNdn) {
    // The administrator's password lives in the configuration, not in an entry.
    throw new LdapError(ResultCode.unwillingToPerform, 'the administrator password is set in the configuration');
  }
  const self = ndn === session.bindNdn;
  // Users may always change their own password (RFC 3062 §2); anyone else's needs write access
  // to userPassword, which the access policy grants administrators (and whom its rules name).
  if (!self) dir.access.requireWrite(session, dn, ['userpassword']);
  if (!dir.inNamingContext(ndn)) {
    throw new LdapError(ResultCode.noSuchObject, '');
  }

  const generated = req.newPassword === undefined ? generatePassword() : undefined;
  const clear = generated !== undefined ? Buffer.from(generated, 'utf8') : req.newPassword!;
  // Hash outside the write lock: it takes a while by design.
  const hashed = await hashPassword(clear, dir.config.passwordScheme);

  await run(async (tx) => {
    const old = await tx.require(ndn, session);
    if (req.oldPassword !== undefined) {
      let ok = false;
      for (const s of old.attrs['userpassword'] ?? []) {
        if (await verifyPassword(s, req.oldPassword)) {
          ok = true;
          break;
        }
      }
      if (!ok) {
        dir.log.info(`password modify: wrong old password for "${dn}" from ${session.remoteAddress}`);
        // As slapd answers (servers/slapd/passwd.c): not invalidCredentials, which is a bind's.
        throw new LdapError(ResultCode.unwillingToPerform, 'unwilling to verify old password');
      }
    }
    const policy = await policyFor(dir, old.attrs, (n) => tx.get(n));
    if (policy) await checkChange(dir, ctx, policy, old, ndn, { session, clear, oldGiven: req.oldPassword !== undefined });
    const attrs = copyAttributes(old.attrs);
    attrs['userpassword'] = [hashed];
    if (policy) recordChange(dir, policy, old, attrs, ndn, session);
    tx.update(session.bindDn, ndn, old, attrs);
    // Once durable (in an LDAP transaction: at its commit, not when the change is queued).
    tx.afterCommit(() => {
      if (self) session.mustChangePassword = false;
      dir.log.info(`password changed for "${dn}" by "${session.bindDn}"`);
    });
  });

  return generated === undefined ? success() : { ...success(), generatedPassword: generated };
}
