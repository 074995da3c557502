// Extended operations (RFC 4511 §4.12): Who Am I (RFC 4532) and Password Modify (RFC 3062);
// unknown OIDs are protocolError as RFC 4511 requires.

import { randomInt } from 'node:crypto';
import { LdapError, ResultCode } from '../errors.js';
import { hashPassword, verifyPassword } from '../access/passwords.js';
import { BerReader, BerWriter } from '../protocol/ber.js';
import { EXT_PASSWD_MODIFY, EXT_WHOAMI, type Directory } from './directory.js';
import type { ExtendedRequest, ExtendedResponse, OperationContext } from './requests.js';

export async function extended(dir: Directory, ctx: OperationContext, req: ExtendedRequest): Promise<ExtendedResponse> {
  if (req.oid === EXT_WHOAMI) {
    const who = ctx.session.bindDn ? `dn:${ctx.session.bindDn}` : '';
    return { code: ResultCode.success, matchedDN: '', message: '', value: Buffer.from(who, 'utf8') };
  }
  if (req.oid === EXT_PASSWD_MODIFY) return passwordModify(dir, ctx, req.value);
  throw new LdapError(ResultCode.protocolError, `${req.oid} not supported`);
}

// ---------------------------------------------------------------------------------------------
// Password Modify (RFC 3062)

const TAG_USER_IDENTITY = 0x80; // [0] userIdentity
const TAG_OLD_PASSWD = 0x81; // [1] oldPasswd
const TAG_NEW_PASSWD = 0x82; // [2] newPasswd
const TAG_GEN_PASSWD = 0x80; // [0] genPasswd (response)

/** Unambiguous characters (no 0/O, 1/l/I) for generated passwords. */
const GEN_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const GEN_LENGTH = 20;

interface PasswdModifyRequest {
  userIdentity?: Buffer;
  oldPasswd?: Buffer;
  newPasswd?: Buffer;
}

/** PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0], oldPasswd [1], newPasswd [2] } (all OPTIONAL). */
export function decodePasswdModifyRequest(value: Buffer | undefined): PasswdModifyRequest {
  const out: PasswdModifyRequest = {};
  // An absent request value is the same as an empty sequence (slapd accepts it).
  if (!value || value.length === 0) return out;
  try {
    const r = new BerReader(value);
    r.enter(0x30);
    if (r.peek() === TAG_USER_IDENTITY) out.userIdentity = Buffer.from(r.readOctets(TAG_USER_IDENTITY));
    if (r.peek() === TAG_OLD_PASSWD) out.oldPasswd = Buffer.from(r.readOctets(TAG_OLD_PASSWD));
    if (r.peek() === TAG_NEW_PASSWD) out.newPasswd = Buffer.from(r.readOctets(TAG_NEW_PASSWD));
    if (!r.atEnd()) throw new Error('unexpected element');
    r.end = value.length;
    if (!r.atEnd()) throw new Error('trailing data');
  } catch {
    throw new LdapError(ResultCode.protocolError, 'password modify: malformed request value');
  }
  return out;
}

export function generatePassword(length = GEN_LENGTH): string {
  let s = '';
  for (let i = 0; i < length; i++) s += GEN_ALPHABET[randomInt(GEN_ALPHABET.length)];
  return s;
}

async function passwordModify(dir: Directory, ctx: OperationContext, value: Buffer | undefined): Promise<ExtendedResponse> {
  const session = ctx.session;
  const req = decodePasswdModifyRequest(value);
  if (session.bindNdn === '') {
    throw new LdapError(ResultCode.strongerAuthRequired, 'only authenticated users may change passwords');
  }
  if (dir.config.tls.requireForBind && !session.tls && session.transport !== 'ldapi') {
    throw new LdapError(ResultCode.confidentialityRequired, 'TLS confidentiality required');
  }
  let dn: string;
  let ndn: string;
  if (req.userIdentity !== undefined && req.userIdentity.length > 0) {
    dn = req.userIdentity.toString('utf8');
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
  if (dir.configTree.isConfig(ndn) || ndn === dir.subschemaNdn || !dir.inNamingContext(ndn)) {
    throw new LdapError(ResultCode.noSuchObject, '');
  }

  const generated = req.newPasswd === undefined || req.newPasswd.length === 0 ? generatePassword() : undefined;
  const clear = generated !== undefined ? Buffer.from(generated, 'utf8') : req.newPasswd!;
  // Hash outside the write lock: it takes a while by design.
  const hashed = await hashPassword(clear, dir.config.passwordScheme);

  await dir.exclusive(async () => {
    const old = await dir.getEntry(ndn);
    if (req.oldPasswd !== undefined) {
      let ok = false;
      for (const s of old.attrs['userpassword'] ?? []) {
        if (await verifyPassword(s, req.oldPasswd)) {
          ok = true;
          break;
        }
      }
      if (!ok) {
        dir.log.info(`password modify: wrong old password for "${dn}" from ${session.remoteAddress}`);
        throw new LdapError(ResultCode.invalidCredentials, '');
      }
    }
    const attrs: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(old.attrs)) attrs[k] = [...v];
    attrs['userpassword'] = [hashed];
    dir.schema.checkEntry(attrs);
    dir.stampModify(attrs, session.bindDn);
    await dir.write({ entries: [{ ndn, old, new: { dn: old.dn, attrs } }] });
  });
  dir.log.info(`password changed for "${dn}" by "${session.bindDn}"`);

  if (generated === undefined) return { code: ResultCode.success, matchedDN: '', message: '' };
  const w = new BerWriter(64);
  w.startSequence();
  w.writeString(generated, TAG_GEN_PASSWD);
  w.endSequence();
  return { code: ResultCode.success, matchedDN: '', message: '', value: Buffer.from(w.toBuffer()) };
}
