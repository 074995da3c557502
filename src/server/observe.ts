// The server's view of its own work: the access log (one line per operation, like slapd's
// `stats` level) and the Prometheus metrics served on the admin listener at /metrics. Both are
// fed by the protocol layer's observer and the rotation engine's callback.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../config/logger.js';
import type { OperationSummary, ProtocolObserver } from '../protocol/observer.js';

/** Quotes a value for a key=value log line: DNs and filters may hold spaces and quotes. */
function q(v: string): string {
  return `"${v.replace(/["\\]/g, (c) => '\\' + c).replace(/[\r\n]/g, ' ')}"`;
}

/**
 * One access-log line: `conn=1 op=2 SEARCH dn="..." scope=sub filter="(uid=x)" result=0
 * entries=1 ms=3`. Only DNs, scopes, filters (password-like values redacted) and codes:
 * passwords, tokens and attribute values never appear.
 */
export function accessLine(s: OperationSummary): string {
  const parts = [`conn=${s.conn}`, `op=${s.op}`, s.type.toUpperCase(), `dn=${q(s.dn)}`];
  if (s.method) parts.push(`method=${s.method}`);
  if (s.scope) parts.push(`scope=${s.scope}`);
  if (s.filter !== undefined) parts.push(`filter=${q(s.filter)}`);
  if (s.oid) parts.push(`oid=${s.oid}`);
  parts.push(`result=${s.code}`);
  if (s.type === 'search') parts.push(`entries=${s.entries}`);
  parts.push(`ms=${s.ms}`);
  if (s.abandoned) parts.push('abandoned');
  return parts.join(' ');
}

export interface MetricsSources {
  /** Entries in the database (read when scraped). */
  entries: () => Promise<number>;
  /** Configured attribute indexes. */
  indexes: () => number;
  /** Whether the database takes writes (not failing for a full disk or an I/O error). */
  writable?: () => boolean;
}

/** One server's metrics in its own registry (several servers in one process stay apart). */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly ops: Counter<'type' | 'code'>;
  private readonly latency: Histogram<'type'>;
  /** Labelled children by type and result code (both from the server's own small sets). */
  private readonly opsByKey = new Map<string, { inc(): void }>();
  private readonly latencyByType = new Map<string, { observe(v: number): void }>();
  private readonly open: Gauge<'transport'>;
  private readonly accepted: Counter<'transport'>;
  private readonly sent: Counter;
  private readonly rotations: Counter<'kind' | 'result'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.ops = new Counter({
      name: 'astldap_operations_total',
      help: 'LDAP operations by type and result code',
      labelNames: ['type', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'astldap_operation_duration_seconds',
      help: 'LDAP operation latency from request to result',
      labelNames: ['type'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.open = new Gauge({ name: 'astldap_connections_open', help: 'Open LDAP connections', labelNames: ['transport'], registers });
    this.accepted = new Counter({
      name: 'astldap_connections_total',
      help: 'LDAP connections accepted',
      labelNames: ['transport'],
      registers,
    });
    this.sent = new Counter({ name: 'astldap_search_entries_sent_total', help: 'Search result entries sent', registers });
    this.rotations = new Counter({
      name: 'astldap_rotations_total',
      help: 'Password rotations by kind (role, root) and result (success, failure)',
      labelNames: ['kind', 'result'],
      registers,
    });
    new Gauge({
      name: 'astldap_entries',
      help: 'Entries in the database',
      registers,
      async collect() {
        this.set(await sources.entries());
      },
    });
    new Gauge({
      name: 'astldap_indexes',
      help: 'Configured attribute indexes',
      registers,
      collect() {
        this.set(sources.indexes());
      },
    });
    const writable = sources.writable;
    if (writable) {
      new Gauge({
        name: 'astldap_store_writable',
        help: '1 while the database takes writes, 0 while it refuses them (a full disk, an I/O error)',
        registers,
        collect() {
          this.set(writable() ? 1 : 0);
        },
      });
    }
  }

  operation(s: OperationSummary): void {
    // The labelled children, found once (prom-client hashes the labels object on every call).
    const key = s.type + ' ' + s.code;
    let ops = this.opsByKey.get(key);
    if (!ops) this.opsByKey.set(key, (ops = this.ops.labels({ type: s.type, code: String(s.code) })));
    let latency = this.latencyByType.get(s.type);
    if (!latency) this.latencyByType.set(s.type, (latency = this.latency.labels({ type: s.type })));
    ops.inc();
    latency.observe(s.ms / 1000);
    if (s.entries) this.sent.inc(s.entries);
  }

  connection(open: boolean, transport: string): void {
    if (open) {
      this.accepted.inc({ transport });
      this.open.inc({ transport });
    } else this.open.dec({ transport });
  }

  rotation(kind: 'role' | 'root', ok: boolean): void {
    this.rotations.inc({ kind, result: ok ? 'success' : 'failure' });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The protocol observer: access log lines (when enabled), metrics and an embedder's listener. */
export function serverObserver(
  metrics: ServerMetrics,
  log: Logger,
  accessLog: boolean,
  listener?: (s: OperationSummary) => void,
): ProtocolObserver {
  // Asked at each operation: whether info lines are written is the logger's to say.
  const writesAccess = () => accessLog && log.infoEnabled !== false;
  return {
    // The access log and an embedder's listener read the target; the metrics only counts and times.
    get detail() {
      return writesAccess() || listener !== undefined;
    },
    onOperation(s) {
      metrics.operation(s);
      if (writesAccess()) log.info(accessLine(s));
      listener?.(s);
    },
    onConnection(open, transport) {
      metrics.connection(open, transport);
    },
  };
}
