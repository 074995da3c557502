// The engine config (rotation/config in the store's meta space, bindpass included and never
// returned): its fields and defaults, parsing and validating a config write's body, the public
// view GET returns, and whether its url names the embedded directory or an external server.

import { invalid } from './errors.js';
import { parseBool, parseDuration, str, type Fields } from './fields.js';
import { readRecord, type AdminDb } from './meta.js';

export const CONFIG_KEY = 'rotation/config';

export type SchemaName = 'openldap' | 'racf' | 'ad' | 'asterisk';
const SCHEMAS: readonly string[] = ['openldap', 'racf', 'ad', 'asterisk'];

export interface EngineConfig {
  binddn: string;
  bindpass: string;
  url: string;
  userdn: string;
  userattr: string;
  upndomain: string;
  schema: SchemaName;
  credential_type: string;
  password_policy: string;
  length: number;
  request_timeout: number;
  connection_timeout: number;
  starttls: boolean;
  insecure_tls: boolean;
  certificate: string;
  client_tls_cert: string;
  client_tls_key: string;
  tls_min_version: string;
  tls_max_version: string;
  skip_static_role_import_rotation: boolean;
  asterisk_realm: string;
  asterisk_cleartext_secret: boolean;
  /** Rotating a PJSIP userpass auth turns it into md5 (md5_cred only): no cleartext at rest. */
  asterisk_userpass_to_md5: boolean;
  last_bind_password: string;
  last_bind_password_rotation: string | null;
  /** Whether url named the embedded directory when it was written (listener ports may change). */
  embedded?: boolean;
}

/** What parsing a config body needs to know of the server. */
export interface ConfigEnv {
  /** The asterisk_realm of a new config. */
  defaultRealm: string;
  /** LDAP URLs the server listens on (a url naming one of them is the embedded directory). */
  ownUrls: () => string[];
}

export function readConfig(db: AdminDb): Promise<EngineConfig | undefined> {
  return readRecord<EngineConfig>(db, CONFIG_KEY);
}

export function defaultConfig(realm: string): EngineConfig {
  return {
    binddn: '',
    bindpass: '',
    url: '',
    userdn: '',
    userattr: '',
    upndomain: '',
    schema: 'openldap',
    credential_type: 'password',
    password_policy: '',
    length: 0,
    request_timeout: 90,
    connection_timeout: 30,
    starttls: false,
    insecure_tls: false,
    certificate: '',
    client_tls_cert: '',
    client_tls_key: '',
    tls_min_version: 'tls12',
    tls_max_version: 'tls12',
    skip_static_role_import_rotation: false,
    asterisk_realm: realm,
    asterisk_cleartext_secret: false,
    asterisk_userpass_to_md5: false,
    last_bind_password: '',
    last_bind_password_rotation: null,
  };
}

/** The fields a config write takes (Vault's openldap plugin's, and the Asterisk ones). */
export const CONFIG_FIELDS = {
  binddn: 'string',
  bindpass: 'string',
  url: 'string',
  userdn: 'string',
  userattr: 'string',
  upndomain: 'string',
  credential_type: 'string',
  password_policy: 'string',
  certificate: 'string',
  client_tls_cert: 'string',
  client_tls_key: 'string',
  tls_min_version: 'string',
  tls_max_version: 'string',
  asterisk_realm: 'string',
  starttls: 'bool',
  insecure_tls: 'bool',
  skip_static_role_import_rotation: 'bool',
  asterisk_cleartext_secret: 'bool',
  asterisk_userpass_to_md5: 'bool',
  request_timeout: 'duration',
  connection_timeout: 'duration',
  // Vault's fields that have no effect here (or are refused by parseConfig with a reason).
  schema: 'string',
  length: 'value',
  case_sensitive_names: 'value',
  rotation_period: 'value',
  rotation_schedule: 'value',
  rotation_window: 'value',
  disable_automated_rotation: 'value',
} as const satisfies Fields;

/**
 * The config a write makes of the stored one (or the defaults) and the body: every field
 * parsed and checked on its own and together. Whether the result fits its target (DN syntax,
 * the schema's attributes) and whether binddn/bindpass bind are checked by the target.
 */
export function parseConfig(old: EngineConfig | undefined, body: Record<string, unknown>, env: ConfigEnv): EngineConfig {
  const c: EngineConfig = old ? { ...old } : defaultConfig(env.defaultRealm);
  // The fields were checked against CONFIG_FIELDS by the path table; the plain ones copy over.
  const set = c as unknown as Record<string, unknown>;
  for (const [k, type] of Object.entries(CONFIG_FIELDS)) {
    const v = body[k];
    if (v === undefined || k === 'schema') continue;
    if (type === 'string') set[k] = str(v, k);
    else if (type === 'bool') set[k] = parseBool(v, k);
    else if (type === 'duration') set[k] = parseDuration(v, k);
  }
  if (body.length !== undefined) {
    const n = Number(body.length);
    if (!Number.isInteger(n) || n < 0 || (n > 0 && n < 8)) throw invalid('length must be a whole number of at least 8');
    c.length = n;
  }
  if (body.rotation_period !== undefined || body.rotation_schedule !== undefined) {
    throw invalid('automated root rotation (rotation_period/rotation_schedule on config) is not supported; use rotate-root');
  }
  if (c.password_policy && c.length) throw invalid('Cannot set password_policy and length');
  if (body.schema !== undefined) {
    const sc = str(body.schema, 'schema').toLowerCase();
    if (!SCHEMAS.includes(sc)) throw invalid(`configured schema ${sc} not valid; use openldap, racf, ad or asterisk`);
    c.schema = sc as SchemaName;
  }
  if (body.url !== undefined || c.embedded === undefined) c.embedded = !isExternalUrl(c.url, env.ownUrls());
  if (!['password', 'phrase'].includes(c.credential_type)) throw invalid('credential_type must be password or phrase');
  if (!c.binddn) throw invalid('missing binddn');
  if (!c.bindpass) throw invalid('missing bindpass');
  if (!c.userattr) c.userattr = c.schema === 'ad' ? 'userPrincipalName' : c.schema === 'racf' ? 'racfid' : 'cn';
  return c;
}

/**
 * Empty, `embedded` or this server's own listeners: the embedded directory (changed in one
 * atomic batch with the role state). Other ldap:// / ldaps:// URLs: an external server,
 * managed through ldapjs. A list must not mix the two.
 */
export function isExternalUrl(url: string, ownUrls: string[]): boolean {
  const own = ownUrls.map((u) => u.toLowerCase().replace(/\/$/, ''));
  let embedded = 0;
  let external = 0;
  for (const raw of url
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)) {
    if (raw.toLowerCase() === 'embedded') {
      embedded++;
      continue;
    }
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw invalid(`invalid url ${raw}`);
    }
    if (u.protocol !== 'ldap:' && u.protocol !== 'ldaps:') throw invalid(`url ${raw}: use ldap:// or ldaps://`);
    const norm = `${u.protocol}//${u.host}`.toLowerCase();
    const alias = norm.replace('//localhost:', '//127.0.0.1:');
    if (own.includes(norm) || own.includes(alias)) embedded++;
    else external++;
  }
  if (embedded && external) throw invalid('url must not mix this server (embedded) with external servers');
  return external > 0;
}

/** Whether the config manages an external server (as decided when url was written). */
export function usesExternal(c: EngineConfig, ownUrls: string[]): boolean {
  return c.embedded === undefined ? isExternalUrl(c.url, ownUrls) : !c.embedded;
}

/** The config as GET returns it (no bindpass, no client key). */
export function publicConfig(c: EngineConfig): Record<string, unknown> {
  return {
    binddn: c.binddn,
    url: c.url,
    userdn: c.userdn,
    userattr: c.userattr,
    upndomain: c.upndomain,
    schema: c.schema,
    credential_type: c.credential_type,
    password_policy: c.password_policy,
    length: c.password_policy ? 0 : c.length || 64,
    request_timeout: c.request_timeout,
    connection_timeout: c.connection_timeout,
    starttls: c.starttls,
    insecure_tls: c.insecure_tls,
    certificate: c.certificate,
    client_tls_cert: c.client_tls_cert,
    tls_min_version: c.tls_min_version,
    tls_max_version: c.tls_max_version,
    case_sensitive_names: false,
    skip_static_role_import_rotation: c.skip_static_role_import_rotation,
    last_bind_password_rotation: c.last_bind_password_rotation ?? '0001-01-01T00:00:00Z',
    asterisk_realm: c.asterisk_realm,
    asterisk_cleartext_secret: c.asterisk_cleartext_secret,
    asterisk_userpass_to_md5: c.asterisk_userpass_to_md5 ?? false,
  };
}
