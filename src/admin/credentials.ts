// What a new credential is: password policies (stored as HCL text under passwordpolicy/<name>),
// generating a password from the role's or the config's policy, and the attribute changes one
// rotation makes to an entry for the configured schema (openldap, ad, racf, asterisk).

import { createHash } from 'node:crypto';
import { hashPassword } from '../access/passwords.js';
import type { Directory } from '../directory/directory.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { EngineConfig } from './config.js';
import { failed, invalid, notFound } from './errors.js';
import { putMeta } from './meta.js';
import { defaultPolicy, generate, parsePolicy, PolicyError, type PasswordPolicy } from './policy.js';

export const POLICY_PREFIX = 'passwordpolicy/';
/** Role and policy names: path segments of letters, digits and _ . @ - */
export const NAME_PATTERN = /^[A-Za-z0-9_.@-]+(\/[A-Za-z0-9_.@-]+)*$/;

/** An entry's attributes as a target reads them: lowercased names (the local schema's keys). */
export type Attrs = Record<string, string[]>;
/** Attribute changes (schema keys): values replace, null removes. */
export type Changes = Record<string, string[] | null>;

// ---------------------------------------------------------------------------------------------
// password policies

export function policyText(dir: Directory, name: string): Promise<string | undefined> {
  return dir.store.getMeta(POLICY_PREFIX + name);
}

export async function putPolicy(dir: Directory, name: string, text: unknown): Promise<void> {
  if (!NAME_PATTERN.test(name)) throw invalid('invalid policy name');
  if (typeof text !== 'string' || !text.trim()) throw invalid('missing policy');
  try {
    const policy = parsePolicy(text);
    // Like Vault: make sure passwords can actually be generated before saving.
    for (let i = 0; i < 3; i++) generate(policy);
  } catch (err) {
    if (err instanceof PolicyError) throw invalid(`unable to parse policy: ${err.message}`);
    throw err;
  }
  await putMeta(dir, POLICY_PREFIX + name, text);
}

export function deletePolicy(dir: Directory, name: string): Promise<void> {
  return putMeta(dir, POLICY_PREFIX + name, null);
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
 * A new password: from the role's policy, else the config's, else Vault's default (length from
 * the config); digitsOnly turns a policy that allows more than digits into a PIN.
 */
export async function newPassword(dir: Directory, cfg: EngineConfig, rolePolicy: string, digitsOnly: boolean): Promise<string> {
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
  return generate(policy);
}

// ---------------------------------------------------------------------------------------------
// attribute changes

function isClass(attrs: Attrs, ...names: string[]): boolean {
  const have = new Set((attrs['objectclass'] ?? []).map((v) => v.toLowerCase()));
  return names.some((n) => have.has(n.toLowerCase()));
}

/** Builds the changes of one rotation of one entry. */
class ChangeBuilder {
  readonly out: Changes = {};

  constructor(
    private readonly schema: SchemaRegistry,
    private readonly attrs: Attrs,
  ) {}

  key(name: string): string {
    return this.schema.attributeType(name)?.key ?? name.toLowerCase();
  }

  set(name: string, values: string[] | null): void {
    this.out[this.key(name)] = values;
  }

  has(name: string): boolean {
    return Boolean(this.attrs[this.key(name)]?.length);
  }

  /** Whether the entry's object classes allow the attribute (or it is there already). */
  allows(name: string): boolean {
    const key = this.key(name);
    if (this.attrs[key]?.length) return true;
    for (const oc of this.attrs['objectclass'] ?? []) {
      const c = this.schema.objectClass(oc);
      if (c && [...c.allMust, ...c.allMay].some((t) => t.key === key)) return true;
    }
    return false;
  }

  /** userPassword, with simpleSecurityObject (auxiliary, it brings userPassword) when the classes lack it. */
  userPassword(value: string): void {
    if (!this.allows('userPassword')) this.set('objectClass', [...(this.attrs['objectclass'] ?? []), 'simpleSecurityObject']);
    this.set('userPassword', [value]);
  }
}

/**
 * The attribute changes one rotation makes to an entry, for the configured schema. Passwords
 * are hashed with the server's scheme unless cleartext (an external server hashes them itself).
 * Whether the result is a valid entry is the write path's schema check, not decided here.
 */
export async function buildChanges(
  dir: Directory,
  cfg: EngineConfig,
  attrs: Attrs,
  password: string,
  cleartext: boolean,
): Promise<Changes> {
  const b = new ChangeBuilder(dir.schema, attrs);
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
      const account = isClass(attrs, 'AsteriskSIPUser', 'AsteriskIAXUser', 'AsteriskAccount');
      const voicemail = isClass(attrs, 'AsteriskVoiceMail');
      if (account || !voicemail || attrs['userpassword']?.length) await userPassword();
      if (account) asteriskAccount(b, cfg, attrs, password);
      if (voicemail) b.set('AstVoicemailPassword', [password]);
      break;
    }
  }
  return b.out;
}

/** The secrets res_config_ldap reads for SIP and IAX peers: the realmed MD5 digest, optionally the cleartext. */
function asteriskAccount(b: ChangeBuilder, cfg: EngineConfig, attrs: Attrs, password: string): void {
  const user = attrs['cn']?.[0] ?? attrs[b.key('AstAccountName')]?.[0] ?? '';
  const digest = createHash('md5').update(`${user}:${cfg.asterisk_realm}:${password}`, 'utf8').digest('hex');
  if (isClass(attrs, 'AsteriskSIPUser') || b.allows('AstAccountRealmedPassword')) b.set('AstAccountRealmedPassword', [`{md5}${digest}`]);
  if (isClass(attrs, 'AsteriskIAXUser') || b.has('AstMD5secret')) b.set('AstMD5secret', [digest]);
  if (cfg.asterisk_cleartext_secret) b.set('AstAccountSecret', [password]);
  else if (b.has('AstAccountSecret')) b.set('AstAccountSecret', null); // a stale cleartext secret must not survive
}
