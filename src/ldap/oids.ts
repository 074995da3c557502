// The object identifiers of the controls, extended operations and features this server
// implements, shared by the protocol layer (which has a codec for each) and the directory core.
// What the root DSE advertises is derived from the registries (protocol/controls/index.ts,
// server/extended.ts), not listed here; only the features are.

export const OID = {
  manageDsaIT: '2.16.840.1.113730.3.4.2', // RFC 3296: accepted; there are no referrals to manage
  pagedResults: '1.2.840.113556.1.4.319', // RFC 2696
  sortRequest: '1.2.840.113556.1.4.473', // RFC 2891
  sortResponse: '1.2.840.113556.1.4.474', // RFC 2891
  assertion: '1.3.6.1.1.12', // RFC 4528
  preRead: '1.3.6.1.1.13.1', // RFC 4527
  postRead: '1.3.6.1.1.13.2', // RFC 4527
  whoAmI: '1.3.6.1.4.1.4203.1.11.3', // RFC 4532
  passwordModify: '1.3.6.1.4.1.4203.1.11.1', // RFC 3062
  startTls: '1.3.6.1.4.1.1466.20037', // RFC 4511 §4.14
  noticeOfDisconnection: '1.3.6.1.4.1.1466.20036', // RFC 4511 §4.4.1
  syncRequest: '1.3.6.1.4.1.4203.1.9.1.1', // RFC 4533
  syncState: '1.3.6.1.4.1.4203.1.9.1.2', // RFC 4533
  syncDone: '1.3.6.1.4.1.4203.1.9.1.3', // RFC 4533
  syncInfo: '1.3.6.1.4.1.4203.1.9.1.4', // RFC 4533 (intermediate response name)
  persistentSearch: '2.16.840.1.113730.3.4.3', // draft-ietf-ldapext-psearch
  entryChangeNotification: '2.16.840.1.113730.3.4.7', // draft-ietf-ldapext-psearch
  passwordPolicy: '1.3.6.1.4.1.42.2.27.8.5.1', // draft-behera-ldap-password-policy-10
  txnStart: '1.3.6.1.1.21.1', // RFC 5805 Start Transaction
  txnSpec: '1.3.6.1.1.21.2', // RFC 5805 Transaction Specification control
  txnEnd: '1.3.6.1.1.21.3', // RFC 5805 End Transaction
  txnAborted: '1.3.6.1.1.21.4', // RFC 5805 Aborted Transaction Notice
} as const;

/** What RFC 5805 transactions add to the root DSE (left out when limits.maxTxnsPerConnection is 0). */
export const TXN_OIDS: readonly string[] = [OID.txnStart, OID.txnSpec, OID.txnEnd];

export const SUPPORTED_FEATURES: readonly string[] = [
  '1.3.6.1.1.14', // Modify-Increment (RFC 4525)
  '1.3.6.1.4.1.4203.1.5.1', // all operational attributes: '+' (RFC 3673)
  '1.3.6.1.4.1.4203.1.5.2', // objectClass attribute lists: '@class' (RFC 4529)
  '1.3.6.1.4.1.4203.1.5.3', // absolute true and false filters (RFC 4526)
  '1.3.6.1.4.1.4203.1.5.4', // language tag options (RFC 3866)
];
