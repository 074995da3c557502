// Sync cookies in OpenLDAP's form (rid=NNN[,sid=SSS],csn=CSN[;CSN...]): what a slapd consumer
// sends back and expects. The consumer's rid is echoed; the CSN is the provider's contextCSN.

export interface SyncCookie {
  rid?: string;
  sid?: string;
  /** The newest CSN the consumer holds (the largest of those it sent); absent = no state. */
  csn?: string;
}

const CSN = /^\d{14}\.\d{6}Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}$/i;

export function isCsn(s: string): boolean {
  return CSN.test(s);
}

/** Reads a cookie; unknown fields and malformed CSNs are ignored (the refresh is then a full one). */
export function parseCookie(text: string | undefined): SyncCookie {
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
      for (const c of v.split(';')) if (isCsn(c) && (out.csn === undefined || c > out.csn)) out.csn = c;
    }
  }
  return out;
}

export function formatCookie(rid: string | undefined, csn: string): string {
  return rid !== undefined ? `rid=${rid},csn=${csn}` : `csn=${csn}`;
}
