// Password policy as slapd's ppolicy overlay keeps it (draft-behera-ldap-password-policy-10):
// which pwdPolicy entry governs an entry (its pwdPolicySubentry, else passwordPolicy.default),
// the checks a new password must pass (quality, history, age, who may change it) and the
// operational state a change leaves on the entry (pwdChangedTime, pwdHistory, pwdReset, and
// the failure, lock and grace state cleared). Bind-time state is in ppolicy-bind.ts.

import { verifyPassword } from '../access/passwords.js';
import {
  PasswordPolicyError,
  type OperationContext,
  type PasswordPolicyResponse,
  type ResponseControls,
  type Session,
} from '../ldap/messages.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import { generalizedTimeNorm } from '../schema/matching.js';
import type { EntryRecord } from '../store/types.js';
import { generalizedTime } from './clock.js';
import type { Directory } from './directory.js';
import type { Attributes } from './write.js';

/** A pwdPolicy entry's settings, with the draft's defaults for what it leaves out. */
export interface PasswordPolicy {
  dn: string;
  minAge: number;
  maxAge: number;
  inHistory: number;
  checkQuality: number;
  minLength: number;
  maxLength: number;
  expireWarning: number;
  graceAuthNLimit: number;
  /** Seconds after expiry within which grace logins are given (0: no limit). */
  graceExpiry: number;
  lockout: boolean;
  lockoutDuration: number;
  maxFailure: number;
  failureCountInterval: number;
  maxRecordedFailure: number;
  mustChange: boolean;
  allowUserChange: boolean;
  safeModify: boolean;
}

/** userPassword: the only pwdAttribute slapd's ppolicy supports. */
export const PASSWORD_KEY = 'userpassword';
/** What an administrator writes in pwdAccountLockedTime to lock an account until it is removed. */
export const LOCKED_FOREVER = '000001010000Z';
/** pwdHistory values: time#syntax#length#value, the syntax being octetString's (as slapd writes). */
const HISTORY_SYNTAX = '1.3.6.1.4.1.1466.115.121.1.40';

function int(attrs: Attributes, key: string): number {
  const v = Number(attrs[key]?.[0] ?? 0);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

function bool(attrs: Attributes, key: string, dflt: boolean): boolean {
  const v = attrs[key]?.[0];
  return v === undefined ? dflt : v.toUpperCase() === 'TRUE';
}

/** Parses a policy entry (its attribute keys are the lower-cased names). */
export function parsePolicy(dn: string, a: Attributes): PasswordPolicy {
  const maxFailure = int(a, 'pwdmaxfailure');
  return {
    dn,
    minAge: int(a, 'pwdminage'),
    maxAge: int(a, 'pwdmaxage'),
    inHistory: int(a, 'pwdinhistory'),
    checkQuality: int(a, 'pwdcheckquality'),
    minLength: int(a, 'pwdminlength'),
    maxLength: int(a, 'pwdmaxlength'),
    expireWarning: int(a, 'pwdexpirewarning'),
    graceAuthNLimit: int(a, 'pwdgraceauthnlimit'),
    graceExpiry: int(a, 'pwdgraceexpiry'),
    lockout: bool(a, 'pwdlockout', false),
    lockoutDuration: int(a, 'pwdlockoutduration'),
    maxFailure,
    failureCountInterval: int(a, 'pwdfailurecountinterval'),
    // slapd: pwdMaxRecordedFailure defaults to pwdMaxFailure, and to 5 when that is 0 too.
    maxRecordedFailure: Math.max(int(a, 'pwdmaxrecordedfailure') || maxFailure || 5, maxFailure),
    mustChange: bool(a, 'pwdmustchange', false),
    allowUserChange: bool(a, 'pwdallowuserchange', true),
    safeModify: bool(a, 'pwdsafemodify', false),
  };
}

/**
 * The policy that governs an entry: its pwdPolicySubentry, else the configured default; none
 * when that entry is missing or is no pwdPolicy (as slapd, which then applies no policy).
 */
export async function policyFor(
  dir: Directory,
  attrs: Attributes,
  get: (ndn: string) => Promise<EntryRecord | undefined> = (ndn) => dir.store.get(ndn),
): Promise<PasswordPolicy | undefined> {
  const dn = attrs['pwdpolicysubentry']?.[0] ?? dir.config.passwordPolicy.default;
  if (!dn) return undefined;
  let ndn: string;
  try {
    ndn = dir.normalize(dn);
  } catch {
    return undefined;
  }
  const rec = await get(ndn);
  if (!rec || !(rec.attrs['objectclass'] ?? []).some((c) => c.toLowerCase() === 'pwdpolicy')) return undefined;
  return parsePolicy(rec.dn, rec.attrs);
}

/** A refusal with its Password Policy error (sent in the control when the client asked for it). */
export function policyError(ctx: OperationContext, code: number, message: string, error: number): LdapError {
  return new LdapError(code, message).with(policyControl(ctx, { error }));
}

/** The response control, when the request carried the Password Policy control. */
export function policyControl(ctx: OperationContext, value: PasswordPolicyResponse): ResponseControls | undefined {
  return ctx.controls.passwordPolicy ? { passwordPolicy: value } : undefined;
}

/** A value that carries a {SCHEME} other than {CLEARTEXT} cannot be checked for quality. */
function isHashed(v: Buffer): boolean {
  const m = /^\{([A-Za-z0-9.-]+)\}/.exec(v.subarray(0, 64).toString('latin1'));
  return m !== null && m[1]!.toUpperCase() !== 'CLEARTEXT';
}

/** pwdCheckQuality 1 and 2: length bounds; a hashed value passes under 1 and fails under 2. */
export function checkQuality(ctx: OperationContext, p: PasswordPolicy, clear: Buffer): void {
  const refuse = (error: number) => policyError(ctx, ResultCode.constraintViolation, 'Password fails quality checking policy', error);
  if (p.checkQuality === 0) return;
  if (clear.length === 0 || clear.length < p.minLength) throw refuse(PasswordPolicyError.passwordTooShort);
  if (p.maxLength > 0 && clear.length > p.maxLength) throw refuse(PasswordPolicyError.passwordTooLong);
  if (isHashed(clear) && p.checkQuality === 2) throw refuse(PasswordPolicyError.insufficientPasswordQuality);
}

/** Milliseconds since the epoch of a generalizedTime value (NaN when it is none). */
export function timeOf(v: string | undefined): number {
  const n = v === undefined ? undefined : generalizedTimeNorm(v);
  if (!n) return NaN;
  return Date.UTC(
    +n.slice(0, 4),
    +n.slice(4, 6) - 1,
    +n.slice(6, 8),
    +n.slice(8, 10),
    +n.slice(10, 12),
    +n.slice(12, 14),
    +n.slice(15, 18),
  );
}

/** The stored passwords of the history, oldest first. */
function history(attrs: Attributes): Array<{ time: string; value: string }> {
  const out: Array<{ time: string; value: string }> = [];
  for (const h of attrs['pwdhistory'] ?? []) {
    const m = /^([^#]+)#[^#]*#(\d+)#([\s\S]*)$/.exec(h);
    if (m) out.push({ time: m[1]!, value: m[3]! });
  }
  return out.sort((a, b) => timeOf(a.time) - timeOf(b.time));
}

async function matchesAny(stored: string[], clear: Buffer): Promise<boolean> {
  for (const s of stored) if (await verifyPassword(s, clear)) return true;
  return false;
}

/** A change of an entry's password, as the policy sees it. */
export interface PasswordChange {
  session: Session;
  /** The new cleartext (as sent); undefined when the password is only deleted. */
  clear?: Buffer;
  /** The old password was given (a delete of its value before the add, or Password Modify's oldPasswd). */
  oldGiven: boolean;
  /** Checks the old password given (after the age check, before the quality check, as slapd). */
  verifyOld?: () => Promise<void>;
}

/**
 * The checks slapd's ppolicy makes before a password changes, in its order; the administrator
 * skips them all (slapd's rootdn does). Throws the refusal.
 */
export async function checkChange(
  dir: Directory,
  ctx: OperationContext,
  p: PasswordPolicy,
  old: EntryRecord,
  ndn: string,
  change: PasswordChange,
): Promise<void> {
  if (dir.isAdmin(change.session)) return;
  const self = change.session.bindNdn === ndn;
  if (!p.allowUserChange && self) {
    throw policyError(
      ctx,
      ResultCode.insufficientAccessRights,
      'User alteration of password is not allowed',
      PasswordPolicyError.passwordModNotAllowed,
    );
  }
  if (change.clear === undefined) return;
  if (p.safeModify && !change.oldGiven) {
    throw policyError(
      ctx,
      ResultCode.insufficientAccessRights,
      'Must supply old password to be changed as well as new one',
      PasswordPolicyError.mustSupplyOldPassword,
    );
  }
  if (old.attrs['pwdreset']?.[0]?.toUpperCase() !== 'TRUE' && p.minAge > 0) {
    const changed = timeOf(old.attrs['pwdchangedtime']?.[0]);
    if (!Number.isNaN(changed) && Date.now() - changed < p.minAge * 1000) {
      throw policyError(ctx, ResultCode.constraintViolation, 'Password is too young to change', PasswordPolicyError.passwordTooYoung);
    }
  }
  await change.verifyOld?.();
  checkQuality(ctx, p, change.clear);
  const current = old.attrs[PASSWORD_KEY] ?? [];
  if (current.length && p.inHistory > 0) {
    if (await matchesAny(current, change.clear)) {
      throw policyError(
        ctx,
        ResultCode.constraintViolation,
        'Password is not being changed from existing value',
        PasswordPolicyError.passwordInHistory,
      );
    }
    if (
      p.inHistory >= 2 &&
      (await matchesAny(
        history(old.attrs).map((h) => h.value),
        change.clear,
      ))
    ) {
      throw policyError(
        ctx,
        ResultCode.constraintViolation,
        'Password is in history of old passwords',
        PasswordPolicyError.passwordInHistory,
      );
    }
  }
}

/**
 * The state a password change leaves (attrs: the changed copy of old's attributes): the change
 * time, the old password in the history, the failure, lock and grace state gone, and pwdReset
 * set when the administrator changed someone else's under pwdMustChange (cleared otherwise;
 * slapd marks only a password administrator's change, not one an ACL's write access allows).
 */
export function recordChange(dir: Directory, p: PasswordPolicy, old: EntryRecord, attrs: Attributes, ndn: string, session: Session): void {
  const now = generalizedTime();
  if (attrs[PASSWORD_KEY]?.length) attrs['pwdchangedtime'] = [now];
  else delete attrs['pwdchangedtime'];
  for (const k of ['pwdgraceusetime', 'pwdaccountlockedtime', 'pwdfailuretime']) delete attrs[k];
  if (p.mustChange && session.bindNdn !== ndn && dir.isAdmin(session)) attrs['pwdreset'] = ['TRUE'];
  else delete attrs['pwdreset'];
  if (p.inHistory > 0) {
    const prev = old.attrs[PASSWORD_KEY]?.[0];
    if (prev === undefined) return;
    const entry = `${now}#${HISTORY_SYNTAX}#${Buffer.byteLength(prev)}#${prev}`;
    // The administrator setting the same password twice in a second: one history value.
    if (old.attrs['pwdhistory']?.includes(entry)) return;
    // Oldest first: drop what would push the history past pwdInHistory once the old one joins it.
    const values = [...(old.attrs['pwdhistory'] ?? [])].sort((a, b) => timeOf(a.split('#')[0]) - timeOf(b.split('#')[0]));
    while (values.length >= p.inHistory) values.shift();
    values.push(entry);
    attrs['pwdhistory'] = values;
  }
}

/**
 * The Password Policy restriction of a session bound with a reset password: binds, password
 * changes, Who Am I, StartTLS and the root DSE and subschema are allowed, nothing else of the
 * naming context (as slapd answers).
 */
export function requireUnrestricted(ctx: OperationContext): void {
  if (!ctx.session.mustChangePassword) return;
  throw policyError(
    ctx,
    ResultCode.insufficientAccessRights,
    'Operations are restricted to bind/unbind/abandon/StartTLS/modify password',
    PasswordPolicyError.changeAfterReset,
  );
}
