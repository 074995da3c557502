// Helpers on normalised DNs (the store's keys: RDNs joined by ',', with ',' inside values always
// hex-escaped), so plain string operations are exact. Normalising a DN needs the schema and
// lives in src/schema/dn.ts; these need none.

/** Parent of a normalised DN ('' for a top-level entry and for the root). */
export function parentNdn(ndn: string): string {
  const i = ndn.indexOf(',');
  return i < 0 ? '' : ndn.slice(i + 1);
}

/** True when ndn is base or below it ('' is the root: everything is within it). */
export function isWithin(ndn: string, base: string): boolean {
  return base === '' || ndn === base || ndn.endsWith(',' + base);
}

/** True when ndn is strictly below base. */
export function isBelow(ndn: string, base: string): boolean {
  return base === '' ? ndn !== '' : ndn.endsWith(',' + base);
}

/** Number of RDNs above the first one (0 for a top-level entry). */
export function depth(ndn: string): number {
  let d = 0;
  for (let i = 0; i < ndn.length; i++) if (ndn.charCodeAt(i) === 44) d++;
  return d;
}
