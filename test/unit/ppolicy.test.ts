// The password policy's pieces on their own: the response control's BER as the draft writes it
// (slapd's octets for the same values), a policy entry's defaults, when a lock holds.

import { describe, expect, it } from 'vitest';
import { isLocked } from '../../src/directory/ppolicy-bind.js';
import { LOCKED_FOREVER, parsePolicy, timeOf } from '../../src/directory/ppolicy.js';
import { encodePasswordPolicyResponse } from '../../src/protocol/controls/password-policy.js';

const hex = (v: Parameters<typeof encodePasswordPolicyResponse>[0]) => encodePasswordPolicyResponse(v).value!.toString('hex');

describe('Password Policy response control', () => {
  it('encodes the warning as an explicit [0] around the implicit choice, the error as [1] ENUMERATED', () => {
    expect(hex({})).toBe('3000');
    expect(hex({ error: 1 })).toBe('3003810101');
    expect(hex({ warning: { graceAuthNsRemaining: 1 } })).toBe('3005a0038101' + '01');
    expect(hex({ warning: { timeBeforeExpiration: 300 } })).toBe('3006a004' + '8002012c');
    expect(hex({ warning: { graceAuthNsRemaining: 0 }, error: 2 })).toBe('3008a0038101' + '00' + '810102');
    expect(encodePasswordPolicyResponse({}).oid).toBe('1.3.6.1.4.1.42.2.27.8.5.1');
  });
});

describe('policy entries and locks', () => {
  it('takes the draft defaults for what a policy leaves out', () => {
    const p = parsePolicy('cn=p', { pwdattribute: ['userPassword'] });
    expect(p).toMatchObject({ allowUserChange: true, safeModify: false, mustChange: false, lockout: false, checkQuality: 0 });
    // slapd: pwdMaxRecordedFailure defaults to pwdMaxFailure, to 5 without either.
    expect(p.maxRecordedFailure).toBe(5);
    expect(parsePolicy('cn=p', { pwdmaxfailure: ['3'] }).maxRecordedFailure).toBe(3);
    expect(parsePolicy('cn=p', { pwdallowuserchange: ['FALSE'], pwdlockout: ['TRUE'] })).toMatchObject({
      allowUserChange: false,
      lockout: true,
    });
  });

  it('a lock holds for pwdLockoutDuration, for good without one or with 000001010000Z', () => {
    const now = timeOf('20260101000000Z');
    const timed = parsePolicy('cn=p', { pwdlockoutduration: ['60'] });
    expect(isLocked(timed, { pwdaccountlockedtime: ['20251231235930Z'] }, now)).toBe(true);
    expect(isLocked(timed, { pwdaccountlockedtime: ['20251231235800Z'] }, now)).toBe(false);
    expect(isLocked(timed, { pwdaccountlockedtime: [LOCKED_FOREVER] }, now)).toBe(true);
    expect(isLocked(parsePolicy('cn=p', {}), { pwdaccountlockedtime: ['20000101000000Z'] }, now)).toBe(true);
    expect(isLocked(timed, {}, now)).toBe(false);
  });

  it('reads generalizedTime with fractions (pwdFailureTime) to the millisecond', () => {
    expect(timeOf('20261206223604.702326Z') - timeOf('20261206223604Z')).toBe(702);
    expect(timeOf('not a time')).toBeNaN();
  });
});
