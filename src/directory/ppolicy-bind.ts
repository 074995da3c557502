// The password policy at bind (draft-behera-ldap-password-policy-10 §8.1, slapd's ppolicy_bind):
// a locked account, failures counted on the entry (pwdFailureTime) until pwdMaxFailure locks it
// (pwdAccountLockedTime), and after a correct password: the failures forgotten, a reset password
// that must be changed, expiry with its warning and grace logins. The state is written through
// the write path as the administrator, as slapd's internal modifications are its rootdn's.

import { PasswordPolicyError, type PasswordPolicyResponse } from '../ldap/messages.js';
import type { EntryRecord } from '../store/types.js';
import { generalizedTime } from './clock.js';
import type { Directory } from './directory.js';
import { LOCKED_FOREVER, timeOf, type PasswordPolicy } from './ppolicy.js';
import { copyAttributes, type Attributes } from './write.js';

/**
 * True while the account is locked: by pwdAccountLockedTime (forever without a
 * pwdLockoutDuration), or outside its password's pwdStartTime..pwdEndTime.
 */
export function isLocked(p: PasswordPolicy, attrs: Attributes, now = Date.now()): boolean {
  const start = timeOf(attrs['pwdstarttime']?.[0]);
  const end = timeOf(attrs['pwdendtime']?.[0]);
  if ((!Number.isNaN(start) && now < start) || (!Number.isNaN(end) && now >= end)) return true;
  const t = attrs['pwdaccountlockedtime']?.[0];
  if (t === undefined) return false;
  if (t === LOCKED_FOREVER || p.lockoutDuration === 0) return true;
  const at = timeOf(t);
  return Number.isNaN(at) || at + p.lockoutDuration * 1000 > now;
}

/** Writes a changed copy of the entry's attributes, if fn changed anything (fn returns false for no change). */
async function updateState(dir: Directory, ndn: string, fn: (attrs: Attributes, cur: EntryRecord) => boolean): Promise<void> {
  await dir.writer.transaction(async (tx) => {
    const cur = await tx.get(ndn);
    if (!cur) return;
    const attrs = copyAttributes(cur.attrs);
    if (fn(attrs, cur)) tx.update(dir.config.admin.dn, ndn, cur, attrs);
  });
}

/**
 * A wrong password: one more failure (those older than pwdFailureCountInterval forgotten); the
 * lock at pwdMaxFailure. Without pwdLockout nothing is recorded (as slapd).
 */
export async function recordFailure(dir: Directory, ndn: string, p: PasswordPolicy): Promise<void> {
  if (!p.lockout) return;
  return updateState(dir, ndn, (attrs) => {
    const now = Date.now();
    let times = attrs['pwdfailuretime'] ?? [];
    if (p.failureCountInterval > 0) times = times.filter((t) => now - timeOf(t) < p.failureCountInterval * 1000);
    times = [...times, dir.clock.preciseTime()];
    while (times.length > p.maxRecordedFailure) times.shift();
    attrs['pwdfailuretime'] = times;
    if (p.maxFailure > 0 && times.length >= p.maxFailure && !isLocked(p, attrs, now)) {
      attrs['pwdaccountlockedtime'] = [generalizedTime(new Date(now))];
    }
    return true;
  });
}

/** What a correct password's bind comes to under the policy. */
export interface BindOutcome {
  /** The password expired with no grace login left: the bind fails (invalidCredentials). */
  expired: boolean;
  /** The password was reset and must be changed before anything else. */
  mustChange: boolean;
  /** The response control's value. */
  response: PasswordPolicyResponse;
}

/** A correct password: failures and an expired lock forgotten, reset, expiry and grace logins. */
export async function bindSucceeded(dir: Directory, ndn: string, p: PasswordPolicy, rec: EntryRecord): Promise<BindOutcome> {
  const now = Date.now();
  const a = rec.attrs;
  const out: BindOutcome = { expired: false, mustChange: false, response: {} };
  if (p.mustChange && a['pwdreset']?.[0]?.toUpperCase() === 'TRUE') {
    out.mustChange = true;
    out.response.error = PasswordPolicyError.changeAfterReset;
  }
  const changed = timeOf(a['pwdchangedtime']?.[0]);
  const age = Number.isNaN(changed) ? -1 : Math.floor((now - changed) / 1000);
  let graceUsed = false;
  if (p.maxAge > 0 && age >= p.maxAge) {
    const used = a['pwdgraceusetime']?.length ?? 0;
    const graceOver = p.graceExpiry > 0 && age >= p.maxAge + p.graceExpiry;
    if (used < p.graceAuthNLimit && !graceOver) {
      graceUsed = true;
      out.response.warning = { graceAuthNsRemaining: p.graceAuthNLimit - used - 1 };
    } else {
      out.expired = true;
      out.response = { error: PasswordPolicyError.passwordExpired };
    }
  } else if (p.maxAge > 0 && age >= 0 && p.expireWarning > 0 && p.maxAge - age <= p.expireWarning) {
    out.response.warning = { timeBeforeExpiration: p.maxAge - age };
  }
  const forget = a['pwdfailuretime'] !== undefined || (a['pwdaccountlockedtime'] !== undefined && !isLocked(p, a, now));
  if (forget || graceUsed) {
    await updateState(dir, ndn, (attrs) => {
      if (!out.expired) delete attrs['pwdfailuretime'];
      if (attrs['pwdaccountlockedtime'] && !isLocked(p, attrs, now)) delete attrs['pwdaccountlockedtime'];
      if (graceUsed) attrs['pwdgraceusetime'] = [...(attrs['pwdgraceusetime'] ?? []), dir.clock.preciseTime()];
      return true;
    });
  }
  return out;
}
