// pjsip.conf to the sorcery realtime tables (ps_endpoints, ps_aors, ps_auths,
// ps_endpoint_id_ips, ps_registrations, ps_domain_aliases) and, for every other section type
// (transport, global, system, acl, ...), to the static pjsip.conf rows of the [config] table, so
// that the whole file is served from the directory. Templates are expanded (realtime has none).
// A `password` becomes md5_cred = MD5(username:realm:password) with auth_type=md5, unless
// --keep-cleartext or the auth is some endpoint's or registration's outbound_auth (a client has
// to know the password to answer a provider's challenge).

import { lastValue, type ConfigCategory, type ParsedConfig } from './config-parser.js';
import { columnsOf, keepStatic, md5hex, type ConvertContext, type Conversion, type EntryBuilder } from './model.js';
import { staticRows } from './static-rows.js';

/** Section types served by sorcery realtime, with their extconfig family and object classes. */
export const PJSIP_TYPES: Record<string, { family: string; classes: string[] }> = {
  endpoint: { family: 'ps_endpoints', classes: ['AstldapPjsipEndpoint'] },
  aor: { family: 'ps_aors', classes: ['AstldapPjsipAor'] },
  auth: { family: 'ps_auths', classes: ['AstldapPjsipAuth'] },
  identify: { family: 'ps_endpoint_id_ips', classes: ['AstldapPjsipIdentify'] },
  registration: { family: 'ps_registrations', classes: ['AstldapPjsipRegistration'] },
  domain_alias: { family: 'ps_domain_aliases', classes: ['AstldapPjsipDomainAlias'] },
};

const split = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function convertPjsip(cfg: ParsedConfig, ctx: ConvertContext, out: Conversion): void {
  const objects = cfg.categories.filter((c) => !c.template);
  const global = objects.find((c) => lastValue(c, 'type')?.trim() === 'global');
  const defaultRealm = (global && lastValue(global, 'default_realm')) || 'asterisk';
  const staticCats = convertPjsipObjects(objects, ctx, out, defaultRealm);
  out.families.push(...Object.values(PJSIP_TYPES).map((k) => k.family));
  staticRows('pjsip.conf', staticCats, ctx, out);
}

/** The sections of the realtime types as entries; returns the others (transports, ...). */
export function convertPjsipObjects(
  objects: ConfigCategory[],
  ctx: ConvertContext,
  out: Conversion,
  defaultRealm: string,
): ConfigCategory[] {
  const typed = objects.map((c) => ({ cat: c, type: lastValue(c, 'type')?.trim() }));
  const outbound = new Set<string>();
  for (const { cat, type } of typed) {
    if (type === 'endpoint' || type === 'registration') for (const a of split(lastValue(cat, 'outbound_auth'))) outbound.add(a);
  }
  const staticCats: ConfigCategory[] = [];
  for (const { cat, type } of typed) {
    if (!type) {
      out.skipped.push({ origin: cat.origin, text: `[${cat.name}]`, reason: 'no type= in the section (or its templates)' });
      for (const v of cat.variables) keepStatic(out, cat.name, v);
      continue;
    }
    if (type === 'contact') {
      out.skipped.push({
        origin: cat.origin,
        text: `[${cat.name}] type=contact`,
        reason: 'contacts are written by the registrar, not configured (ps_contacts is read-only over LDAP)',
      });
      continue;
    }
    const kind = PJSIP_TYPES[type];
    if (!kind) {
      staticCats.push(cat);
      continue;
    }
    const b = ctx.builder(kind.family, cat.name, cat.origin, `${type} ${cat.name}`, kind.classes, out);
    const hashed =
      type === 'auth' && hashAuth(b, cat, { defaultRealm, outbound: outbound.has(cat.name), keepCleartext: ctx.keepCleartext });
    const skip = new Set(hashed ? ['type', 'password', 'auth_type', 'username', 'realm'] : ['type']);
    for (const col of columnsOf(cat, skip)) b.set(col.name, col.values, { file: col.file, line: col.line });
    out.entries.push(b.entry);
  }
  return staticCats;
}

/** A userpass auth's password as md5_cred, unless the password must stay; true when hashed. */
function hashAuth(b: EntryBuilder, cat: ConfigCategory, o: { defaultRealm: string; outbound: boolean; keepCleartext: boolean }): boolean {
  const password = lastValue(cat, 'password');
  const type = (lastValue(cat, 'auth_type') ?? 'userpass').trim().toLowerCase();
  if (password === undefined || o.outbound || o.keepCleartext || (type !== 'userpass' && type !== 'digest')) return false;
  const username = lastValue(cat, 'username');
  if (!username) return false; // nothing to hash with: the auth could never match a client anyway
  const realm = lastValue(cat, 'realm') || o.defaultRealm;
  b.set('auth_type', ['md5'], cat.origin);
  b.set('username', [username], cat.origin);
  b.set('realm', [realm], cat.origin);
  b.set('md5_cred', [md5hex(`${username}:${realm}:${password}`)], cat.origin);
  return true;
}
