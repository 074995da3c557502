// LDAP result codes (RFC 4511 §4.1.9 and extensions) and the one error class every layer throws.
// A layer that fails an operation throws LdapError; the protocol layer turns it into an LDAPResult.
// Part of src/ldap, the vocabulary every layer shares: it imports nothing of the project.

import type { ResponseControls } from './messages.js';

export const ResultCode = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  referral: 10,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  saslBindInProgress: 14,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  inappropriateMatching: 18,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  aliasProblem: 33,
  invalidDNSyntax: 34,
  aliasDereferencingProblem: 36,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  loopDetect: 54,
  namingViolation: 64,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  notAllowedOnRDN: 67,
  entryAlreadyExists: 68,
  objectClassModsProhibited: 69,
  affectsMultipleDSAs: 71,
  other: 80,
  cancelled: 118,
  noSuchOperation: 119,
  tooLate: 120,
  cannotCancel: 121,
  assertionFailed: 122,
  /** RFC 5805 defines no code for an unknown transaction identifier: slapd's own (LDAP_TXN_ID_INVALID). */
  txnIdInvalid: 0x4121,
} as const;

export type ResultCodeValue = (typeof ResultCode)[keyof typeof ResultCode];

export class LdapError extends Error {
  readonly code: number;
  /** The DN of the deepest existing entry, for noSuchObject (RFC 4511 §4.1.9). */
  readonly matchedDN: string;
  /** Response controls that go with the error result (the Password Policy control's error). */
  controls?: ResponseControls;

  constructor(code: number, message: string, matchedDN = '') {
    super(message);
    this.name = 'LdapError';
    this.code = code;
    this.matchedDN = matchedDN;
  }

  /** This error with response controls (returns itself). */
  with(controls: ResponseControls | undefined): this {
    if (controls) this.controls = controls;
    return this;
  }
}

export function isLdapError(err: unknown): err is LdapError {
  return err instanceof LdapError;
}

/** The plain success result (the one helper every operation uses). */
export function success(message = ''): { code: number; matchedDN: string; message: string } {
  return { code: ResultCode.success, matchedDN: '', message };
}
