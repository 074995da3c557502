// What the protocol layer reports about its work, for access logs and metrics: one summary per
// finished operation and the opening and closing of connections. The server implements it; the
// protocol layer knows nothing of loggers' formats or metric libraries.

/** One finished operation, as slapd's stats log level describes it. Never values or secrets. */
export interface OperationSummary {
  /** Connection (session) id and the request's messageID. */
  conn: number;
  op: number;
  /** bind, search, add, modify, delete, modifyDN, compare, extended. */
  type: string;
  /** The request's DN (search base, bind name, entry). */
  dn: string;
  /** search: base, one or sub; the filter in RFC 4515 form with password-like values redacted. */
  scope?: string;
  filter?: string;
  /** extended: the request OID; bind: the method (simple, sasl). */
  oid?: string;
  method?: string;
  /** The result code sent (or the one an abandoned operation would have had). */
  code: number;
  /** Search entries sent. */
  entries: number;
  /** Milliseconds from the request's arrival to its result. */
  ms: number;
  /** The operation was abandoned (no result was sent). */
  abandoned?: boolean;
  transport: 'tcp' | 'tls' | 'ldapi';
}

export interface ProtocolObserver {
  onOperation?(summary: OperationSummary): void;
  /**
   * Whether onOperation reads the operation's target (dn, scope, filter, method, oid); false
   * spares building them (a filter's text on every search) when only counts and times are used.
   * Absent: true.
   */
  readonly detail?: boolean;
  /** A connection was accepted (open=true) or has closed. */
  onConnection?(open: boolean, transport: OperationSummary['transport']): void;
}
