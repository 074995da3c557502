// Sync cookies in OpenLDAP's form (rid=NNN[,sid=SSS],csn=CSN[;CSN...]): what a slapd consumer
// sends back and expects. The consumer's rid is echoed; the CSN is the provider's contextCSN.
// Only a CSN with this server's sid is state this server can answer from: as syncprov does, the
// CSNs of other servers are dropped, so a cookie naming only them gets a full refresh.

import { SERVER_ID } from '../clock.js';

export interface SyncCookie {
  rid?: string;
  sid?: string;
  /** The newest CSN of this server's the consumer holds (the largest it sent); absent = no state. */
  csn?: string;
}

/** The sid field of a CSN (time#count#sid#mod), as a number. */
function sidOf(csn: string): number {
  return parseInt(csn.split('#')[2]!, 16);
}

const CSN = /^\d{14}\.\d{6}Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}$/i;

export function isCsn(s: string): boolean {
  return CSN.test(s);
}

/**
 * Reads a cookie; unknown fields, malformed CSNs and other servers' CSNs are ignored (the
 * refresh is then a full one).
 */
export function parseCookie(text: string | undefined, serverId = SERVER_ID): SyncCookie {
  const own = parseInt(serverId, 16);
  const out: SyncCookie = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim().toLowerCase();
    const v = part.slice(eq + 1).trim();
    if (k === 'rid' && /^\d{1,3}$/.test(v)) out.rid = v;
    else if (k === 'sid' && /^[0-9a-f]{1,3}$/i.test(v)) out.sid = v;
    else if (k === 'csn') {
      for (const c of v.split(';')) if (isCsn(c) && sidOf(c) === own && (out.csn === undefined || c > out.csn)) out.csn = c;
    }
  }
  return out;
}

export function formatCookie(rid: string | undefined, csn: string): string {
  return rid !== undefined ? `rid=${rid},csn=${csn}` : `csn=${csn}`;
}
