// Sync searches (RFC 4533) and persistent searches from the client's side, for the tests: the
// controls' OIDs, OpenLDAP's ldapsearch -E sync=ro and what it printed, the Sync Request and
// persistent search controls, and the Sync State control of an entry a raw client read.

import { BerReader, BerWriter, Tag } from '../../src/protocol/ber.js';
import type { RawMessage } from './raw-ldap.js';
import { bindArgs, runTool } from './tools.js';

export const SYNC_REQUEST = '1.3.6.1.4.1.4203.1.9.1.1';
export const SYNC_STATE = '1.3.6.1.4.1.4203.1.9.1.2';
export const PSEARCH = '2.16.840.1.113730.3.4.3';
export const ECN = '2.16.840.1.113730.3.4.7';

export interface SyncResult {
  code: number;
  /** dn → state ("added", "present", "modified", "deleted"). */
  states: Map<string, string>;
  /** UUIDs named in Sync Info ID sets. */
  idSet: string[];
  refreshDeletes?: boolean;
  cookie?: string;
  stdout: string;
}

/** ldapsearch -E sync=ro[/cookie] (a refreshOnly sync search) and what it reported. */
export async function syncRo(
  url: string,
  who: readonly [string, string] | undefined,
  base: string,
  cookie?: string,
  attrs = ['*'],
): Promise<SyncResult> {
  const r = await runTool('ldapsearch', [
    ...(who ? bindArgs(...who) : ['-x']),
    '-H',
    url,
    '-o',
    'ldif-wrap=no',
    '-b',
    base,
    '-E',
    `sync=ro${cookie ? `/${cookie}` : ''}`,
    ...attrs,
  ]);
  const states = new Map<string, string>();
  const idSet: string[] = [];
  let dn = '';
  let inIds = false;
  let out: Partial<SyncResult> = {};
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('dn: ')) dn = line.slice(4);
    let m = /^# SyncState control, UUID \S+ (\w+)/.exec(line);
    if (m) states.set(dn, m[1]!);
    if (line.startsWith('# syncUUIDs:')) inIds = true;
    else if (inIds && /^#\t/.test(line)) idSet.push(line.slice(2));
    else inIds = false;
    m = /^# SyncDone control refreshDeletes=(\d)/.exec(line);
    if (m) out.refreshDeletes = m[1] === '1';
    m = /^# cookie: (.*)$/.exec(line);
    if (m) out.cookie = m[1];
  }
  const code = Number(/^result: (\d+)/m.exec(r.stdout)?.[1] ?? r.code);
  out = { ...out, code, states, idSet, stdout: r.stdout };
  return out as SyncResult;
}

/** The persistent search control's value: change types, changesOnly, returnECs. */
export function psearchValue(changeTypes: number, changesOnly: boolean, returnECs: boolean): Buffer {
  const w = new BerWriter(32);
  w.startSequence();
  w.writeInteger(changeTypes);
  w.writeBoolean(changesOnly);
  w.writeBoolean(returnECs);
  w.endSequence();
  return w.toBuffer();
}

/** An Entry Change Notification control's content: change type and the previous DN of a rename. */
export function entryChange(m: RawMessage): { type: number; previous?: string } | undefined {
  const v = m.controls.find((x) => x.oid === ECN)?.value;
  if (!v) return undefined;
  const r = new BerReader(v);
  r.enter(Tag.sequence);
  const type = r.readEnumerated();
  return r.atEnd() ? { type } : { type, previous: r.readString() };
}

export function syncRequest(mode: 1 | 3, cookie?: string): Buffer {
  const w = new BerWriter(64);
  w.startSequence();
  w.writeEnumerated(mode);
  if (cookie) w.writeString(cookie);
  w.endSequence();
  return w.toBuffer();
}

export function syncState(m: RawMessage): { state: number; uuid: string; cookie?: string } | undefined {
  const c = m.controls.find((x) => x.oid === SYNC_STATE);
  if (!c?.value) return undefined;
  const r = new BerReader(c.value);
  r.enter(Tag.sequence);
  const state = r.readEnumerated();
  const uuid = r.readOctets().toString('hex');
  const cookie = r.atEnd() ? undefined : r.readString();
  return { state, uuid, ...(cookie ? { cookie } : {}) };
}
