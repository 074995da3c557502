// LDAP Content Synchronization (RFC 4533): the Sync Request control on a search
// (1.3.6.1.4.1.4203.1.9.1.1), the Sync State control on entries (…1.9.1.2), the Sync Done control
// on the final result (…1.9.1.3) and the Sync Info message sent as an intermediate response (…1.9.1.4).

import { OID } from '../../ldap/oids.js';
import type { Control, ResponseControls, SyncInfo, SyncState } from '../../ldap/messages.js';
import { BerWriter, Tag } from '../ber.js';
import { malformed, parseValue, type RequestControlCodec } from './codec.js';

const MODES = { 1: 'refreshOnly', 3: 'refreshAndPersist' } as const;
const STATES: Record<SyncState['state'], number> = { present: 0, add: 1, modify: 2, delete: 3 };

export const syncRequest: RequestControlCodec = {
  oid: OID.syncRequest,
  ops: ['search'],
  decode(value, _critical, into) {
    into.sync = parseValue(value, 'sync request', (r) => {
      const outer = r.enter(Tag.sequence);
      const mode = MODES[r.readEnumerated() as keyof typeof MODES];
      if (!mode) throw malformed('sync request');
      let cookie: string | undefined;
      let reloadHint = false;
      if (r.peek() === Tag.octetString) cookie = r.readString();
      if (r.peek() === Tag.boolean) reloadHint = r.readBoolean();
      if (!r.atEnd()) throw malformed('sync request');
      r.leave(outer);
      return { mode, ...(cookie !== undefined && cookie !== '' ? { cookie } : {}), reloadHint };
    });
  },
};

/** The 16 octets of a UUID from its string form (RFC 4530 entryUUID). */
export function uuidOctets(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  return /^[0-9a-fA-F]{32}$/.test(hex) ? Buffer.from(hex, 'hex') : Buffer.alloc(16);
}

export function encodeSyncState(s: SyncState): Control {
  const w = new BerWriter(64);
  w.startSequence();
  w.writeEnumerated(STATES[s.state]);
  w.writeOctets(uuidOctets(s.uuid));
  if (s.cookie !== undefined) w.writeString(s.cookie);
  w.endSequence();
  return { oid: OID.syncState, critical: false, value: w.toBuffer() };
}

export function encodeSyncDone(d: NonNullable<ResponseControls['syncDone']>): Control {
  const w = new BerWriter(64);
  w.startSequence();
  if (d.cookie !== undefined) w.writeString(d.cookie);
  if (d.refreshDeletes) w.writeBoolean(true);
  w.endSequence();
  return { oid: OID.syncDone, critical: false, value: w.toBuffer() };
}

/** The syncInfoValue CHOICE (RFC 4533 §2.5), the value of the intermediate response. */
export function encodeSyncInfo(info: SyncInfo): Buffer {
  const w = new BerWriter(64 + (info.kind === 'syncIdSet' ? info.uuids.length * 18 : 0));
  switch (info.kind) {
    case 'newcookie':
      w.writeString(info.cookie, 0x80);
      break;
    case 'refreshDelete':
    case 'refreshPresent':
      w.startSequence(info.kind === 'refreshDelete' ? 0xa1 : 0xa2);
      if (info.cookie !== undefined) w.writeString(info.cookie);
      // refreshDone is TRUE by default: only FALSE is written.
      if (!info.refreshDone) w.writeBoolean(false);
      w.endSequence();
      break;
    case 'syncIdSet':
      w.startSequence(0xa3);
      if (info.cookie !== undefined) w.writeString(info.cookie);
      if (info.refreshDeletes) w.writeBoolean(true);
      w.startSequence(Tag.set);
      for (const u of info.uuids) w.writeOctets(uuidOctets(u));
      w.endSequence();
      w.endSequence();
      break;
  }
  return w.toBuffer();
}
