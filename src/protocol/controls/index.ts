// The control registry: every request control the server implements, decoded once into typed
// fields before the operation runs (as slapd's get_ctrls does), and the response controls the
// core returns, encoded here.

import type { Control, RequestControls, ResponseControls, SearchEntry } from '../../ldap/messages.js';
import { OID } from '../../ldap/oids.js';
import { InvalidValue } from '../ber.js';
import type { OpType, RequestControlCodec } from './codec.js';
import { assertion } from './assertion.js';
import { manageDsaIT } from './manage-dsa-it.js';
import { encodePagedResponse, pagedResults } from './paged.js';
import { encodeReadEntry, postRead, preRead } from './read-entry.js';
import { encodeSortResponse, sortRequest } from './sort.js';
import { encodeEntryChange, persistentSearch } from './persistent-search.js';
import { encodeSyncDone, encodeSyncState, syncRequest } from './sync.js';
import { encodePasswordPolicyResponse, passwordPolicy } from './password-policy.js';
import { txnSpec } from './txn-spec.js';

export type { OpType } from './codec.js';

/**
 * Every request control the server implements, one codec each (slapd's control_defs[]): the
 * root DSE's supportedControl is this list (requestControlOids). A new control is one more
 * codec file and one more entry here.
 */
const CODECS: ReadonlyMap<string, RequestControlCodec> = new Map(
  [manageDsaIT, pagedResults, sortRequest, assertion, preRead, postRead, syncRequest, persistentSearch, passwordPolicy, txnSpec].map(
    (c) => [c.oid, c],
  ),
);

/**
 * The OIDs of the request controls, advertised in the root DSE. Response-only controls (Sort
 * Response, Sync State and Done, Entry Change Notification) are not: RFC 4512 §5.1 lists the
 * controls a client may send, as slapd does.
 */
export function requestControlOids(): string[] {
  return [...CODECS.keys()];
}

/** True when the server has a codec for the control (other critical controls are refused). */
export function isSupportedControl(oid: string): boolean {
  return CODECS.has(oid);
}

/** Decodes the controls that apply to the operation; unknown non-critical ones are ignored. */
export function decodeRequestControls(controls: Control[], op: OpType): RequestControls {
  const out: RequestControls = {};
  const seen = new Set<string>();
  for (const c of controls) {
    const codec = CODECS.get(c.oid);
    if (!codec || (codec.ops !== 'all' && !codec.ops.includes(op))) continue;
    if (seen.has(c.oid)) throw new InvalidValue(`control ${c.oid} given more than once`);
    seen.add(c.oid);
    codec.decode(c.value, c.critical, out);
  }
  return out;
}

/** The wire form of the response controls, in a fixed order. */
export function encodeResponseControls(rc: ResponseControls | undefined): Control[] | undefined {
  if (!rc) return undefined;
  const out: Control[] = [];
  if (rc.sort) out.push(encodeSortResponse(rc.sort));
  if (rc.paged) out.push(encodePagedResponse(rc.paged));
  if (rc.preRead) out.push(encodeReadEntry(OID.preRead, rc.preRead));
  if (rc.postRead) out.push(encodeReadEntry(OID.postRead, rc.postRead));
  if (rc.syncDone) out.push(encodeSyncDone(rc.syncDone));
  if (rc.passwordPolicy) out.push(encodePasswordPolicyResponse(rc.passwordPolicy));
  return out;
}

/** The controls of a search result entry (Sync State, Entry Change Notification), if any. */
export function encodeEntryControls(entry: SearchEntry): Control[] | undefined {
  if (!entry.sync && !entry.entryChange) return undefined;
  const out: Control[] = [];
  if (entry.sync) out.push(encodeSyncState(entry.sync));
  if (entry.entryChange) out.push(encodeEntryChange(entry.entryChange));
  return out;
}
