// The credentials Asterisk reads through res_config_ldap, as the shipped res_ldap.conf maps them:
// PJSIP auths (sorcery ps_auths: md5_cred = MD5 hex of "username:realm:password", or the
// cleartext password of a userpass auth), chan_sip/IAX accounts (realmed MD5, IAX md5secret) and
// voicemail PINs. Which entries fit a rotation at all, the changes one rotation makes, and what
// an operator needs to know of the result (username, realm, auth type).

import { createHash } from 'node:crypto';
import { ChangeBuilder, isClass, type Attrs } from './changes.js';
import type { EngineConfig } from './config.js';
import { invalid } from './errors.js';
import type { PasswordTarget } from '../targets/target.js';

/** Attributes that name an auth as a trunk's credentials at a provider (outbound_auth). */
export const OUTBOUND_AUTH_ATTRS = ['AstPjsipEndpointOutboundAuth', 'AstPjsipRegistrationOutboundAuth'] as const;

/** What static-cred adds for an Asterisk credential. */
export interface AsteriskCredInfo {
  type: 'pjsip_auth' | 'sip' | 'iax' | 'voicemail';
  username: string;
  realm?: string;
  auth_type?: string;
}

const md5hex = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

const isPjsipAuth = (attrs: Attrs) => isClass(attrs, 'AstldapPjsipAuth');

/** The auth type a PJSIP auth entry has for Asterisk (res_pjsip's default is userpass). */
function pjsipAuthType(b: ChangeBuilder): string {
  return (b.first('AstPjsipAuthAuthType') ?? 'userpass').trim().toLowerCase();
}

/**
 * Which secret a PJSIP auth keeps: 'md5' (md5_cred) or 'userpass' (password), after the
 * configured conversion of userpass to md5. Asterisk 21+'s `digest` uses whichever is set.
 */
function pjsipSecret(b: ChangeBuilder, cfg: EngineConfig, dn: string): 'md5' | 'userpass' {
  const type = pjsipAuthType(b);
  let kind: 'md5' | 'userpass';
  if (type === 'md5') kind = 'md5';
  else if (type === 'userpass') kind = 'userpass';
  else if (type === 'digest' && !b.has('AstPjsipAuthPasswordDigest')) kind = b.has('AstAccountSecret') ? 'userpass' : 'md5';
  else
    throw invalid(
      `${dn}: PJSIP auth_type ${type}${b.has('AstPjsipAuthPasswordDigest') ? ' with password_digest' : ''} keeps no password this engine can rotate (md5 and userpass can be)`,
    );
  if (!b.first('AstPjsipAuthUsername')) {
    throw invalid(`${dn}: the PJSIP auth has no username (AstPjsipAuthUsername); Asterisk cannot match a digest to it`);
  }
  return kind === 'userpass' && cfg.asterisk_userpass_to_md5 ? 'md5' : kind;
}

/**
 * Throws invalid (a 400 on role creation, a failed rotation later) when a rotation of this entry
 * would write a credential nothing uses: a PJSIP endpoint (its secret is in its auth), a PJSIP
 * auth outside the asterisk schema or with an auth type without a password.
 */
export function checkAsteriskFit(cfg: EngineConfig, dn: string, attrs: Attrs, b: ChangeBuilder): void {
  if (isClass(attrs, 'AstldapPjsipEndpoint')) {
    const auth = b.first('AstPjsipEndpointAuth');
    throw invalid(
      `${dn} is a PJSIP endpoint: Asterisk reads its password from its auth${auth ? ` (auth=${auth})` : ''}; create the role on the auth entry (ou=auths)`,
    );
  }
  if (!isPjsipAuth(attrs)) return;
  if (cfg.schema !== 'asterisk') {
    throw invalid(
      `${dn} is a PJSIP auth: Asterisk never reads userPassword; write config with schema "asterisk" to rotate md5_cred or password`,
    );
  }
  pjsipSecret(b, cfg, dn);
}

/**
 * Refuses an auth that endpoints or registrations use as outbound_auth (sorcery knows an auth by
 * its cn): it holds the credentials a provider issued, and a new password here breaks the trunk.
 */
export async function refuseOutbound(target: PasswordTarget, dn: string, attrs: Attrs): Promise<void> {
  const id = isPjsipAuth(attrs) ? attrs['cn']?.[0] : undefined;
  if (!id) return;
  const users = await target.findReferrers(dn, OUTBOUND_AUTH_ATTRS, id);
  if (users.length) {
    throw invalid(
      `${dn} is an outbound auth (outbound_auth of ${users.join('; ')}): it holds the credentials a provider issued, and rotating our copy would break the trunk`,
    );
  }
}

/** The changes of one rotation of a PJSIP auth: md5_cred or the password, never both, no stale secret. */
export function pjsipAuthChanges(b: ChangeBuilder, cfg: EngineConfig, dn: string, password: string): void {
  const kind = pjsipSecret(b, cfg, dn);
  if (kind === 'md5') {
    const realm = b.first('AstPjsipAuthRealm') || cfg.asterisk_realm;
    b.set('AstPjsipAuthMd5Cred', [md5hex(`${b.first('AstPjsipAuthUsername')!}:${realm}:${password}`)]);
    if (pjsipAuthType(b) === 'userpass') b.set('AstPjsipAuthAuthType', ['md5']);
    b.drop('AstAccountSecret');
  } else {
    b.set('AstAccountSecret', [password]);
    b.drop('AstPjsipAuthMd5Cred');
  }
}

/** The secrets res_config_ldap reads for SIP and IAX peers: the realmed MD5 digest, optionally the cleartext. */
export function accountChanges(b: ChangeBuilder, cfg: EngineConfig, password: string): void {
  const user = b.attrs['cn']?.[0] ?? b.first('AstAccountName') ?? '';
  const digest = md5hex(`${user}:${cfg.asterisk_realm}:${password}`);
  if (isClass(b.attrs, 'AsteriskSIPUser') || b.allows('AstAccountRealmedPassword')) b.set('AstAccountRealmedPassword', [`{md5}${digest}`]);
  if (isClass(b.attrs, 'AsteriskIAXUser') || b.has('AstMD5secret')) b.set('AstMD5secret', [digest]);
  if (cfg.asterisk_cleartext_secret) b.set('AstAccountSecret', [password]);
  else b.drop('AstAccountSecret');
}

/** What an operator needs besides the password: the SIP username, realm and auth type it works with. */
export function asteriskInfo(cfg: EngineConfig, b: ChangeBuilder, changed: Attrs): AsteriskCredInfo | undefined {
  const a = b.attrs;
  if (isPjsipAuth(a)) {
    return {
      type: 'pjsip_auth',
      username: b.first('AstPjsipAuthUsername') ?? '',
      realm: b.first('AstPjsipAuthRealm') || cfg.asterisk_realm,
      auth_type: changed[b.key('AstPjsipAuthAuthType')]?.[0] ?? pjsipAuthType(b),
    };
  }
  const user = a['cn']?.[0] ?? '';
  if (isClass(a, 'AsteriskSIPUser')) return { type: 'sip', username: user, realm: cfg.asterisk_realm, auth_type: 'md5' };
  if (isClass(a, 'AsteriskIAXUser')) return { type: 'iax', username: user, realm: cfg.asterisk_realm, auth_type: 'md5' };
  if (isClass(a, 'AsteriskVoiceMail')) return { type: 'voicemail', username: b.first('AstVoicemailMailbox') ?? user };
  return undefined;
}
