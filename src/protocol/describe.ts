// How a connection describes what it did, for logs: a request in one line (op and DNs, never
// credentials or values), an error, and an LdapError recognised by shape.

import type { ResponseControls, Session } from '../ldap/messages.js';
import { LdapError } from '../ldap/result.js';
import type { LdapMessage } from './decode.js';
import { filterText } from './filter.js';
import type { OperationSummary } from './observer.js';

/** An LdapError, also one from another copy of the module (duck-typed: numeric code, matchedDN). */
export function asLdapError(err: unknown): { code: number; message: string; matchedDN: string; controls?: ResponseControls } | undefined {
  if (err instanceof LdapError) return err;
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown; matchedDN?: unknown };
    if (typeof e.code === 'number' && typeof e.matchedDN === 'string') {
      return { code: e.code, message: typeof e.message === 'string' ? e.message : '', matchedDN: e.matchedDN };
    }
  }
  return undefined;
}

/** A one-line description of a request for logs: op and DNs only, never credentials or values. */
export function summarize(op: LdapMessage['op']): string {
  switch (op.type) {
    case 'bind':
      return `BIND dn="${op.request.name}" v${op.request.version} ${op.request.auth.kind}`;
    case 'search':
      return `SEARCH base="${op.request.base}" scope=${op.request.scope} filter=${filterText(op.request.filter)} attrs=${op.request.attributes.join(',') || '(all)'}`;
    case 'extended':
      return `EXTENDED oid=${op.oid}`;
    case 'add':
    case 'modify':
    case 'delete':
    case 'modifyDN':
    case 'compare':
      return `${op.type.toUpperCase()} dn="${op.request.dn}"`;
    default:
      return op.type.toUpperCase();
  }
}

export function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** The target of an operation, for its access-log line: DN, and scope and filter, method or OID. */
export function describeTarget(op: LdapMessage['op'], summary: OperationSummary): void {
  switch (op.type) {
    case 'bind':
      summary.dn = op.request.name;
      summary.method = op.request.auth.kind;
      break;
    case 'search':
      summary.dn = op.request.base;
      summary.scope = op.request.scope;
      summary.filter = filterText(op.request.filter);
      break;
    case 'extended':
      summary.oid = op.oid;
      break;
    case 'add':
    case 'modify':
    case 'delete':
    case 'modifyDN':
    case 'compare':
      summary.dn = op.request.dn;
      break;
  }
}

/** What the observer is told of a finished operation (access log, metrics, an embedder). */
export function operationSummary(
  session: Session,
  msg: LdapMessage,
  run: { entries: number; abandoned: boolean },
  code: number,
  startTime: number | undefined,
  detail = true,
): OperationSummary {
  const summary: OperationSummary = {
    conn: session.id,
    op: msg.messageId,
    type: msg.op.type,
    dn: '',
    code,
    entries: run.entries,
    ms: Date.now() - (startTime ?? Date.now()),
    transport: session.transport,
  };
  if (run.abandoned) summary.abandoned = true;
  if (detail) describeTarget(msg.op, summary);
  return summary;
}
