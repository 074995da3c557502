// What a new credential is: password policies (stored as HCL text under passwordpolicy/<name>),
// generating a password from the role's or the config's policy, and the attribute changes one
// rotation makes to an entry for the configured schema (openldap, ad, racf, asterisk).

import { hashPassword } from '../../access/passwords.js';
import type { Directory } from '../../directory/directory.js';
import { accountChanges, asteriskInfo, checkAsteriskFit, pjsipAuthChanges, type AsteriskCredInfo } from './asterisk.js';
import { ChangeBuilder, isClass, type Attrs, type Changes } from './changes.js';
import type { EngineConfig } from './config.js';
import { failed, invalid, notFound } from './errors.js';
import { putMeta, type AdminDb } from './meta.js';
import { defaultPolicy, generate, parsePolicy, PolicyError, type PasswordPolicy } from './password-policy.js';

export const POLICY_PREFIX = 'passwordpolicy/';
/**
 * Role, set and policy names (Vault's GenericNameRegex per path segment): segments of letters,
 * digits and _ . @ - that start and end with a letter, digit or _, so no `.`/`..` segment, no
 * leading, trailing or doubled `/`, no control characters.
 */
export const NAME_PATTERN = /^\w(?:[\w.@-]*\w)?(?:\/\w(?:[\w.@-]*\w)?)*$/;

export type { Attrs, Changes } from './changes.js';

/** Throws invalid (400) unless name follows the name rules. */
export function checkName(name: string, what: string): void {
  if (name.length > 128 || !NAME_PATTERN.test(name)) {
    throw invalid(
      `invalid ${what} name ${JSON.stringify(name)}: use path segments of letters, digits and _ . @ - (no '.', '..' or empty segments)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// password policies

export function policyText(dir: Directory, name: string): Promise<string | undefined> {
  return dir.store.getMeta(POLICY_PREFIX + name);
}

export async function putPolicy(db: AdminDb, name: string, text: unknown): Promise<void> {
  checkName(name, 'policy');
  if (typeof text !== 'string' || !text.trim()) throw invalid('missing policy');
  try {
    const policy = parsePolicy(text);
    // Like Vault: make sure passwords can actually be generated before saving.
    for (let i = 0; i < 3; i++) generate(policy);
  } catch (err) {
    if (err instanceof PolicyError) throw invalid(`unable to parse policy: ${err.message}`);
    throw err;
  }
  await putMeta(db, POLICY_PREFIX + name, text);
}

export function deletePolicy(db: AdminDb, name: string): Promise<void> {
  checkName(name, 'policy');
  return putMeta(db, POLICY_PREFIX + name, null);
}

export async function generateFromPolicy(dir: Directory, name: string): Promise<string> {
  const text = await policyText(dir, name);
  if (text === undefined) throw notFound(`policy "${name}" not found`);
  return generate(parsePolicy(text));
}

// ---------------------------------------------------------------------------------------------
// new passwords

/** Whether an entry's password must be digits: a voicemail box (schema asterisk) has a keypad PIN. */
export function wantsDigits(cfg: EngineConfig, attrs: Attrs): boolean {
  return cfg.schema === 'asterisk' && isClass(attrs, 'AsteriskVoiceMail');
}

/**
 * The policy new passwords are generated from: the role's, else the config's, else Vault's
 * default (length from the config); digitsOnly turns a policy that allows more than digits into
 * a PIN.
 */
export async function generatingPolicy(
  dir: Directory,
  cfg: EngineConfig,
  rolePolicy: string,
  digitsOnly: boolean,
): Promise<PasswordPolicy> {
  const name = rolePolicy || cfg.password_policy;
  let policy: PasswordPolicy;
  if (name) {
    const text = await policyText(dir, name);
    if (text === undefined) throw failed(`password policy "${name}" does not exist`);
    policy = parsePolicy(text);
  } else policy = defaultPolicy(cfg.length || undefined);
  if (digitsOnly && !policy.alphabet.every((c) => /[0-9]/.test(c))) {
    // Voicemail PINs are digits (the phone keypad): keep the policy's length, capped.
    policy = parsePolicy(`length = ${Math.min(Math.max(policy.length, 6), 12)}\nrule "charset" { charset = "0123456789" }`);
  }
  return policy;
}

/** A new password from generatingPolicy's policy. */
export async function newPassword(dir: Directory, cfg: EngineConfig, rolePolicy: string, digitsOnly: boolean): Promise<string> {
  return generate(await generatingPolicy(dir, cfg, rolePolicy, digitsOnly));
}

// ---------------------------------------------------------------------------------------------
// attribute changes

/** The changes of one rotation and what static-cred tells an operator about an Asterisk credential. */
export interface Rotated {
  changes: Changes;
  asterisk?: AsteriskCredInfo;
}

/**
 * Throws invalid when a rotation of the entry would write a credential nothing uses (role
 * creation answers 400; a rotation fails). Whether the result is a valid entry is the write
 * path's schema check.
 */
export function checkFit(dir: Directory, cfg: EngineConfig, dn: string, attrs: Attrs): void {
  checkAsteriskFit(cfg, dn, attrs, new ChangeBuilder(dir.schema, attrs));
}

/**
 * The attribute changes one rotation makes to an entry, for the configured schema. Passwords
 * are hashed with the server's scheme unless cleartext (an external server hashes them itself).
 */
export async function buildChanges(
  dir: Directory,
  cfg: EngineConfig,
  entry: { dn: string; attrs: Attrs },
  password: string,
  cleartext: boolean,
): Promise<Rotated> {
  const { attrs } = entry;
  const b = new ChangeBuilder(dir.schema, attrs);
  checkAsteriskFit(cfg, entry.dn, attrs, b);
  const userPassword = async () =>
    b.userPassword(cleartext ? password : await hashPassword(Buffer.from(password, 'utf8'), dir.config.passwordScheme));
  switch (cfg.schema) {
    case 'openldap':
      await userPassword();
      break;
    case 'ad':
      b.set('unicodePwd', [Buffer.from(`"${password}"`, 'utf16le').toString('latin1')]);
      break;
    case 'racf':
      b.set(cfg.credential_type === 'phrase' ? 'racfPassPhrase' : 'racfPassword', [password]);
      b.set('racfAttributes', ['noexpired']);
      break;
    case 'asterisk': {
      if (isClass(attrs, 'AstldapPjsipAuth')) {
        pjsipAuthChanges(b, cfg, entry.dn, password);
        break;
      }
      const account = isClass(attrs, 'AsteriskSIPUser', 'AsteriskIAXUser', 'AsteriskAccount');
      const voicemail = isClass(attrs, 'AsteriskVoiceMail');
      if (account || !voicemail || attrs['userpassword']?.length) await userPassword();
      if (account) accountChanges(b, cfg, password);
      if (voicemail) b.set('AstVoicemailPassword', [password]);
      break;
    }
  }
  const changed = Object.fromEntries(Object.entries(b.out).filter((e): e is [string, string[]] => e[1] !== null));
  return { changes: b.out, asterisk: cfg.schema === 'asterisk' ? asteriskInfo(cfg, b, changed) : undefined };
}
