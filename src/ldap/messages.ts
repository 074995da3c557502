// The LDAP operations as plain data: what the protocol layer decodes requests into and what the
// directory core answers with. Neither side knows the other's internals; this file is the seam.
// Control and extended-operation values arrive decoded into typed fields (the protocol layer
// has one codec per OID), and the core answers with typed response controls.

/** A control as it is on the wire (RFC 4511 §4.1.11), before its codec decodes the value. */
export interface Control {
  oid: string;
  critical: boolean;
  value?: Buffer;
}

export interface SortKey {
  attribute: string;
  orderingRule?: string;
  reverse: boolean;
}

/** The request controls the server implements, decoded (absent = not sent). */
export interface RequestControls {
  /** ManageDsaIT (RFC 3296): accepted; there are no referrals to manage. */
  manageDsaIT?: true;
  /** Simple Paged Results (RFC 2696). */
  paged?: { size: number; cookie: Buffer };
  /** Server-side sorting (RFC 2891); criticality decides what an unusable sort key does. */
  sort?: { keys: SortKey[]; critical: boolean };
  /** Assertion (RFC 4528). */
  assertion?: Filter;
  /** Pre-read and post-read (RFC 4527): the attributes wanted. */
  preRead?: string[];
  postRead?: string[];
  /** LDAP Content Synchronization (RFC 4533): the Sync Request control. */
  sync?: SyncRequest;
  /** Persistent search (draft-ietf-ldapext-psearch): change types as a bit mask (1 add, 2 delete, 4 modify, 8 modDN). */
  persistentSearch?: { changeTypes: number; changesOnly: boolean; returnECs: boolean };
  /** Password Policy (draft-behera-ldap-password-policy-10 §6.1): the client wants the response control. */
  passwordPolicy?: true;
  /** Transaction Specification (RFC 5805 §2.2): the transaction identifier the update belongs to. */
  txnSpec?: Buffer;
}

/** The Password Policy response control's error values (draft-behera-ldap-password-policy-10 §6.2). */
export const PasswordPolicyError = {
  passwordExpired: 0,
  accountLocked: 1,
  changeAfterReset: 2,
  passwordModNotAllowed: 3,
  mustSupplyOldPassword: 4,
  insufficientPasswordQuality: 5,
  passwordTooShort: 6,
  passwordTooYoung: 7,
  passwordInHistory: 8,
  passwordTooLong: 9,
} as const;

/** The Password Policy response control's value: at most one warning, an optional error. */
export interface PasswordPolicyResponse {
  warning?: { timeBeforeExpiration: number } | { graceAuthNsRemaining: number };
  error?: number;
}

/** RFC 4533 §2.2: the Sync Request control's value. */
export interface SyncRequest {
  mode: 'refreshOnly' | 'refreshAndPersist';
  /** The opaque cookie of an earlier session (OpenLDAP's form: rid=NNN,csn=...). */
  cookie?: string;
  reloadHint: boolean;
}

/** RFC 4533 §2.3: the Sync State control on an entry. */
export interface SyncState {
  state: 'present' | 'add' | 'modify' | 'delete';
  /** entryUUID in its string form (the protocol layer sends the 16 octets). */
  uuid: string;
  cookie?: string;
}

/** RFC 4533 §2.5: the Sync Info message, sent as an intermediate response. */
export type SyncInfo =
  | { kind: 'newcookie'; cookie: string }
  | { kind: 'refreshDelete' | 'refreshPresent'; cookie?: string; refreshDone: boolean }
  | { kind: 'syncIdSet'; cookie?: string; refreshDeletes: boolean; uuids: string[] };

/** The response controls the core returns; the protocol layer encodes them. */
export interface ResponseControls {
  sort?: { code: number; attribute?: string };
  paged?: { cookie: Buffer; estimate?: number };
  preRead?: SearchEntry;
  postRead?: SearchEntry;
  /** RFC 4533 §2.4: the Sync Done control ending a refreshOnly sync search. */
  syncDone?: { cookie?: string; refreshDeletes: boolean };
  /** draft-behera-ldap-password-policy-10 §6.2, sent when the request control was. */
  passwordPolicy?: PasswordPolicyResponse;
}

/** RFC 4511 §4.5.1.7 filter, with assertion values as raw octets (escapes already decoded). */
export type Filter =
  | { type: 'and'; filters: Filter[] }
  | { type: 'or'; filters: Filter[] }
  | { type: 'not'; filter: Filter }
  | { type: 'equality' | 'ge' | 'le' | 'approx'; attribute: string; value: Buffer }
  | { type: 'substrings'; attribute: string; initial?: Buffer; any: Buffer[]; final?: Buffer }
  | { type: 'present'; attribute: string }
  | { type: 'extensible'; rule?: string; attribute?: string; value: Buffer; dnAttributes: boolean };

export type SearchScope = 'base' | 'one' | 'sub' | 'children';

export interface BindRequest {
  version: number;
  name: string;
  auth: { kind: 'simple'; password: Buffer } | { kind: 'sasl'; mechanism: string; credentials?: Buffer };
}

export interface SearchRequest {
  base: string;
  scope: SearchScope;
  derefAliases: number;
  sizeLimit: number;
  timeLimit: number;
  typesOnly: boolean;
  filter: Filter;
  attributes: string[];
}

/**
 * A search of base's subtree for every entry (objectClass present) returning the user attributes,
 * with no limits: what the server's own reads ask for; `over` changes any part.
 */
export function searchRequest(base: string, over: Partial<Omit<SearchRequest, 'base'>> = {}): SearchRequest {
  return {
    base,
    scope: 'sub',
    derefAliases: 0,
    sizeLimit: 0,
    timeLimit: 0,
    typesOnly: false,
    filter: { type: 'present', attribute: 'objectClass' },
    attributes: [],
    ...over,
  };
}

export interface AttributeValues {
  type: string;
  values: Buffer[];
}

export interface AddRequest {
  dn: string;
  attributes: AttributeValues[];
}

export type ModifyOperation = 'add' | 'delete' | 'replace' | 'increment';

export interface ModifyRequest {
  dn: string;
  changes: Array<{ operation: ModifyOperation; type: string; values: Buffer[] }>;
}

export interface DeleteRequest {
  dn: string;
}

export interface ModifyDNRequest {
  dn: string;
  newRdn: string;
  deleteOldRdn: boolean;
  newSuperior?: string;
}

export interface CompareRequest {
  dn: string;
  attribute: string;
  value: Buffer;
}

/** Extended operations (RFC 4511 §4.12), decoded by the protocol layer's codec for each OID. */
export type ExtendedRequest =
  | { kind: 'whoAmI' }
  /** Password Modify (RFC 3062): every field optional; empty values count as absent. */
  | { kind: 'passwordModify'; userIdentity?: string; oldPassword?: Buffer; newPassword?: Buffer }
  /** Start Transaction (RFC 5805 §2.1): no value. */
  | { kind: 'txnStart' }
  /** End Transaction (RFC 5805 §2.3): commit (default) or abort the identified transaction. */
  | { kind: 'txnEnd'; commit: boolean; identifier: Buffer }
  | { kind: 'unknown'; oid: string; value?: Buffer };

export interface LdapResult {
  code: number;
  matchedDN: string;
  message: string;
  controls?: ResponseControls;
}

export interface BindResponse extends LdapResult {
  serverSaslCreds?: Buffer;
}

export interface ExtendedResponse extends LdapResult {
  oid?: string;
  /** Who Am I (RFC 4532): the authorization identity ('' when anonymous). */
  authzId?: string;
  /** Password Modify (RFC 3062): the password the server generated. */
  generatedPassword?: string;
  /** Start Transaction (RFC 5805 §2.1): the new transaction's identifier. */
  txnId?: Buffer;
  /** End Transaction (RFC 5805 §2.3 txnEndRes): the message ID of the update that failed. */
  txnFailedMessageId?: number;
}

/**
 * A buffer of its own for bytes kept long (with a reusable entry): a small Buffer is usually a
 * slice of Node's shared 8 KiB pool, and a kept slice keeps that whole slab alive.
 */
export function unpooled(b: Buffer): Buffer {
  if (b.byteLength === b.buffer.byteLength) return b;
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}

/** One search result entry; string values are sent as UTF-8, Buffers as they are. */
export interface SearchEntry {
  dn: string;
  attributes: Array<{ type: string; values: Array<string | Buffer> }>;
  /** RFC 4533: the entry's Sync State control (sync searches only). */
  sync?: SyncState;
  /** Persistent search: the Entry Change Notification control (changeType 1 add, 2 delete, 4 modify, 8 modDN). */
  entryChange?: { changeType: number; previousDn?: string };
  /**
   * The directory hands out this very object again for the same stored entry and selection (and
   * never changes it): an encoder may keep its encoding. Set only by the directory's entry view.
   */
  reusable?: boolean;
  /**
   * A change sent in a persist phase (sync or persistent search): when it follows another closely
   * it may wait up to 50 ms to leave in one write with the changes after it (a consumer following
   * 2,000 changes a second otherwise costs the provider a syscall and a wake-up of the consumer per
   * change).
   */
  deferrable?: boolean;
}

/** The state of one client connection that the core reads (and bind changes). */
export interface Session {
  readonly id: number;
  /** Bound DN as the client gave it; '' when anonymous. */
  bindDn: string;
  /** Normalised bound DN; '' when anonymous. */
  bindNdn: string;
  authMethod: 'anonymous' | 'simple' | 'sasl';
  readonly remoteAddress: string;
  readonly transport: 'tcp' | 'tls' | 'ldapi';
  /** True once the connection is protected by TLS (ldaps or after StartTLS). */
  tls: boolean;
  /** The subject DN of a client certificate that verified against the configured CA. */
  tlsPeerDn?: string;
  /**
   * Bound with a password an administrator reset while the policy says pwdMustChange: until it
   * is changed, only a change of it is allowed (draft-behera-ldap-password-policy-10 §8.1.2.2).
   */
  mustChangePassword?: boolean;
  /** Sends an unsolicited notification (messageID 0), e.g. RFC 5805's Aborted Transaction Notice. */
  notify?(res: ExtendedResponse): void;
}

/**
 * What an operation needs of an AbortSignal (an AbortSignal is one). The protocol layer gives
 * each request a lighter one: an AbortController per request cost microseconds of every lookup.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A CancelSignal and the means to abort it. */
export class Cancellation implements CancelSignal {
  private listeners: Array<() => void> | undefined;
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const ls = this.listeners;
    this.listeners = undefined;
    if (ls) for (const l of ls) l();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return; // as an AbortSignal: no event after the abort
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }
}

export interface OperationContext {
  session: Session;
  messageId: number;
  controls: RequestControls;
  /** Aborted by abandon, by connection close, or when the time limit passes. */
  signal: CancelSignal;
  /** When the protocol layer received the request (Date.now()), for time limits and logs. */
  startTime?: number;
  /** Bytes of output the connection holds that the client has not taken yet (0 without a socket). */
  unsentBytes?: () => number;
}

/**
 * Sends one search result entry. It returns a Promise while the client is not reading fast
 * enough (socket backpressure): a producer that awaits it holds no more than a socket buffer.
 */
export type SendEntry = (entry: SearchEntry) => void | Promise<void>;

/** Sends an intermediate response of a sync search (RFC 4533 Sync Info); backpressure as SendEntry. */
export type SendSyncInfo = (info: SyncInfo) => void | Promise<void>;

/** What the protocol layer calls; the directory core implements it. */
export interface RequestHandler {
  bind(ctx: OperationContext, req: BindRequest): Promise<BindResponse>;
  search(ctx: OperationContext, req: SearchRequest, send: SendEntry, sendInfo?: SendSyncInfo): Promise<LdapResult>;
  add(ctx: OperationContext, req: AddRequest): Promise<LdapResult>;
  modify(ctx: OperationContext, req: ModifyRequest): Promise<LdapResult>;
  delete(ctx: OperationContext, req: DeleteRequest): Promise<LdapResult>;
  modifyDN(ctx: OperationContext, req: ModifyDNRequest): Promise<LdapResult>;
  compare(ctx: OperationContext, req: CompareRequest): Promise<LdapResult>;
  extended(ctx: OperationContext, req: ExtendedRequest): Promise<ExtendedResponse>;
  /** Called once when the connection ends (unbind, close or error). */
  disconnect?(session: Session): void;
}
