// The console's wire format: what its JSON API answers, declared once for the server (src/console/)
// and the page (ui/, which imports this file's types; esbuild drops them). It imports nothing but
// the Asterisk tools' rows (src/asterisk/rows.ts, which imports nothing), so the browser's type
// check (ui/tsconfig.json, no Node types) can read it.

export type { DialplanRow, EndpointInfo, MailboxInfo, PeerInfo, QueueInfo } from '../asterisk/rows.js';

/** GET session, and the answer of a sign-in. */
export interface SessionInfo {
  kind: 'ldap' | 'token';
  name: string;
  csrf: string;
  pages: string[];
  expires: string;
  idleTimeout: number;
}

/** One replication consumer as the Overview shows it (src/directory/sync/consumers.ts). */
export interface ReplicationConsumer {
  /** Who: the consumer's bound identity, address and replica id. */
  consumer: string;
  /** refreshOnly, refreshAndPersist, or persistent search. */
  mode: string;
  /** Its searches open now (0: it polls, or went away). */
  active: number;
  /** Committed changes it has not been sent yet. */
  lagChanges: number;
  /** How long the oldest change it lacks has waited, in seconds (0: up to date). */
  lagSeconds: number;
  lastSeen: string;
}

/** The last successful `astldap backup` of this data directory, as the data directory records it. */
export interface BackupRecord {
  at: string;
  path: string;
  entries: number;
}

/** What the Overview page shows (from the same counters as /metrics). */
export interface ConsoleOverview {
  suffix: string;
  entries: number;
  connections: number;
  operations: number;
  /** The latency histogram's sum (seconds) and count: the page shows the mean between two polls. */
  latencySeconds: number;
  latencyCount: number;
  /** Whether the session sees the server-wide parts below. */
  privileged: boolean;
  /** What a PBX should not run with; empty for an unprivileged session. */
  warnings: string[];
  /** The server-wide parts, for a privileged session only (the administrator, a root or sudo token). */
  replication?: ReplicationConsumer[];
  lastBackup?: BackupRecord | null;
  /** The admin engine's seal: a running engine is unsealed (a wrong key stops its start). */
  seal?: { sealed: boolean; initialized: boolean; keyId: string; keySource: 'env' | 'file' | 'ephemeral' };
}

/** An attribute type as the editor needs it: its syntax, whether it takes one value, whether a client may change it. */
export interface AttributeInfo {
  name: string;
  syntax: string;
  singleValue: boolean;
  readOnly: boolean;
  desc?: string;
}

/** One page of a table the server searches, sorts and pages (GET endpoints?q=&sort=&order=&offset=&limit=). */
export interface TablePage<T> {
  rows: T[];
  /** Rows matching the search, all pages together. */
  total: number;
  offset: number;
  limit: number;
}

/** One line of the admin API's audit log as the Credentials page shows it (no request data). */
export interface AuditRow {
  time: string;
  /** The token's display name. */
  who: string;
  operation: string;
  path: string;
  status: number;
  remoteAddress: string;
  error?: string;
}

/** A lease (dynamic credentials, library check-outs) as the Credentials page lists it; never its secret. */
export interface LeaseRow {
  id: string;
  kind: 'dynamic' | 'library';
  /** The dynamic role or library set. */
  owner: string;
  username?: string;
  issueTime: string;
  expireTime: string;
  ttl: number;
}

/** GET audit: whose requests the list holds (all, or the session token's own). */
export interface AuditAnswer {
  scope: 'all' | 'own';
  rows: AuditRow[];
}

/** An object class of the live schema (cn=Subschema), for the schema browser. */
export interface ObjectClassInfo {
  name: string;
  oid: string;
  desc?: string;
  kind: 'STRUCTURAL' | 'AUXILIARY' | 'ABSTRACT';
  sup: string[];
  must: string[];
  may: string[];
  obsolete: boolean;
}

/** An attribute type of the live schema, its syntax by name (inherited from its superior when it names none). */
export interface AttributeTypeInfo {
  name: string;
  oid: string;
  desc?: string;
  sup?: string;
  syntax: string;
  syntaxOid: string;
  singleValue: boolean;
  /** NO-USER-MODIFICATION: the server sets it. */
  readOnly: boolean;
  usage: string;
  obsolete: boolean;
}

/** GET subschema. */
export interface SchemaAnswer {
  dn: string;
  objectClasses: ObjectClassInfo[];
  attributeTypes: AttributeTypeInfo[];
}
