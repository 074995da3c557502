// sip.conf (chan_sip, removed in Asterisk 21) to PJSIP realtime objects, with the option mapping
// of Asterisk's own contrib/scripts/sip_to_pjsip (written anew here, not copied): each peer
// becomes an endpoint, an aor (contact for a fixed host, max_contacts=1 for host=dynamic) and,
// with secret/md5secret, an auth; peer/friend with a fixed host (or defaultip) also an identify;
// `register =>` lines become registrations with their own auth. [general]'s peer defaults are
// expanded into each peer and its sockets become transports (convert-sip-general.ts), served as
// static pjsip.conf rows unless the directory has a pjsip.conf of its own. The PJSIP sections are
// built in memory with the sip.conf file and line of each value and then converted as
// pjsip.conf's are. Differences from the script: phones (host=dynamic) get no outbound_auth, so
// their secret can become md5_cred; insecure=invite leaves the endpoint without auth (chan_sip
// did not challenge); qualify=yes pings every 60 s (chan_sip's qualifyfreq default).

import type { ConfigCategory, ConfigVariable, Origin, ParsedConfig } from './config-parser.js';
import { lastValue } from './config-parser.js';
import { convertPjsipObjects, PJSIP_TYPES } from './convert-pjsip.js';
import { canonicalOption, isPeerDefault, isTransportOption, peerDefaults, sipTransports, withDefaults } from './convert-sip-general.js';
import { staticRows } from './static-rows.js';
import { columnsOf, md5hex, type Conversion, type ConvertContext } from './model.js';

/** sip.conf peer option -> PJSIP endpoint option, where the value carries over unchanged. */
const SAME_VALUE: Record<string, string> = {
  context: 'context',
  callerid: 'callerid',
  language: 'language',
  accountcode: 'accountcode',
  allow: 'allow',
  disallow: 'disallow',
  rtptimeout: 'rtp_timeout',
  rtpholdtimeout: 'rtp_timeout_hold',
  icesupport: 'ice_support',
  autoframing: 'use_ptime',
  mohsuggest: 'moh_suggest',
  'session-minse': 'timers_min_se',
  'session-expires': 'timers_sess_expires',
  callingpres: 'callerid_privacy',
  cid_tag: 'callerid_tag',
  trustrpid: 'trust_id_inbound',
  send_diversion: 'send_diversion',
  avpf: 'use_avpf',
  callgroup: 'call_group',
  pickupgroup: 'pickup_group',
  namedcallgroup: 'named_call_group',
  namedpickupgroup: 'named_pickup_group',
  allowtransfer: 'allow_transfer',
  fromuser: 'from_user',
  fromdomain: 'from_domain',
  allowoverlap: 'allow_overlap',
  mwifrom: 'mwi_from_user',
  tos_audio: 'tos_audio',
  tos_video: 'tos_video',
  cos_audio: 'cos_audio',
  cos_video: 'cos_video',
  vmexten: 'voicemail_extension',
  sdpowner: 'sdp_owner',
  sdpsession: 'sdp_session',
  tonezone: 'tone_zone',
  allowsubscribe: 'allow_subscribe',
  subscribecontext: 'subscribe_context',
  subminexpiry: 'sub_min_expiry',
  rtp_engine: 'rtp_engine',
  busylevel: 'device_state_busy_at',
  setvar: 'set_var',
  permit: 'permit',
  deny: 'deny',
  acl: 'acl',
  contactpermit: 'contact_permit',
  contactdeny: 'contact_deny',
  contactacl: 'contact_acl',
  dtlsverify: 'dtls_verify',
  dtlsrekey: 'dtls_rekey',
  dtlscertfile: 'dtls_cert_file',
  dtlsprivatekey: 'dtls_private_key',
  dtlscipher: 'dtls_cipher',
  dtlscafile: 'dtls_ca_file',
  dtlscapath: 'dtls_ca_path',
  dtlssetup: 'dtls_setup',
};
/** sip.conf peer option -> PJSIP aor option. */
const AOR_VALUE: Record<string, string> = {
  qualifyfreq: 'qualify_frequency',
  maxexpiry: 'maximum_expiration',
  minexpiry: 'minimum_expiration',
  defaultexpiry: 'default_expiration',
};
/** Why a common chan_sip option has nothing to become (the report's reason). */
const WHY_NOT: Record<string, string> = {
  videosupport: 'PJSIP has no such switch: video is offered when the endpoint allows a video codec (allow=h264, ...)',
  allowguest: 'PJSIP answers no unknown peer unless an anonymous endpoint is configured: allowguest=no is its behaviour',
  srvlookup: 'PJSIP resolves SRV and NAPTR records itself (RFC 3263): nothing to set',
  transport: 'PJSIP picks the transport from the URI and the transports it has: no per-peer default',
  outboundproxy: 'a tcp:// or tls:// proxy needs ";transport=" in its URI, which res_config_ldap would split at the ";"',
  tlsenable: 'a TLS transport needs its certificates: define transport-tls in pjsip.conf',
};

/** Options read while building the objects (host, secret, ...), not mapped one by one. */
const CONSUMED = new Set([
  'type',
  'host',
  'port',
  'defaultuser',
  'username',
  'secret',
  'md5secret',
  'subscribemwi',
  'defaultip',
  'insecure',
  'mailbox',
]);

type Put = (name: string, value: string, from: ConfigVariable | Origin) => void;

/** One PJSIP section under construction. */
function section(name: string, type: string, origin: Origin): { cat: ConfigCategory; put: Put } {
  const cat: ConfigCategory = { name, template: false, inherits: [], variables: [], origin };
  cat.variables.push({ name: 'type', value: type, object: false, origin });
  const put: Put = (n, value, from) => cat.variables.push({ name: n, value, object: false, origin: 'origin' in from ? from.origin : from });
  return { cat, put };
}

/** The mapped options whose value changes form (nat, dtmfmode, directmedia, ...); false when unknown. */
function special(v: ConfigVariable, put: Put, aorPut: Put): boolean {
  const val = v.value.toLowerCase();
  switch (v.name.toLowerCase()) {
    case 'nat':
      if (/\byes\b/.test(val) || val.includes('comedia')) put('rtp_symmetric', 'yes', v);
      if (/\byes\b/.test(val) || val.includes('force_rport')) put('rewrite_contact', 'yes', v);
      if (val.includes('force_rport')) put('force_rport', 'yes', v);
      // chan_sip's nat=no still answered to the rport a client asked for, and no more.
      if (val === 'no') put('force_rport', 'no', v);
      return true;
    case 'dtmfmode':
      put('dtmf_mode', val === 'rfc2833' ? 'rfc4733' : ['inband', 'info', 'auto'].includes(val) ? val : 'none', v);
      return true;
    case 'directmedia':
    case 'canreinvite':
      if (/\byes\b/.test(val)) put('direct_media', 'yes', v);
      if (/\bno\b/.test(val)) put('direct_media', 'no', v);
      if (val.includes('update')) put('direct_media_method', 'update', v);
      if (val.includes('outgoing')) put('direct_media_glare_mitigation', 'outgoing', v);
      if (val.includes('nonat')) put('disable_direct_media_on_nat', 'yes', v);
      return true;
    case 'session-timers':
      put('timers', val === 'originate' ? 'always' : val === 'refuse' ? 'no' : 'yes', v);
      return true;
    case 'sendrpid':
      if (val === 'yes' || val === 'rpid') put('send_rpid', 'yes', v);
      else if (val === 'pai') put('send_pai', 'yes', v);
      return true;
    case 'progressinband':
      if (val === 'yes' || val === 'never') put('inband_progress', val === 'yes' ? 'yes' : 'no', v);
      return true;
    case 'encryption':
      if (val === 'yes') put('media_encryption', 'sdes', v);
      return true;
    case 'dtlsenable':
      if (val === 'yes') put('media_encryption', 'dtls', v);
      return true;
    case 'encryption_taglen':
      if (val === '32') put('srtp_tag_32', 'yes', v);
      return true;
    case 'recordonfeature':
    case 'recordofffeature':
      // A feature name (automixmon, ...) to start and stop recording, which one_touch_recording enables.
      put(v.name.toLowerCase() === 'recordonfeature' ? 'record_on_feature' : 'record_off_feature', v.value, v);
      put('one_touch_recording', 'yes', v);
      return true;
    case 't38pt_udptl': {
      // yes|no[,redundancy|fec|none][,maxdatagram=N]
      const parts = val.split(',').map((p) => p.trim());
      put('t38_udptl', parts.includes('yes') ? 'yes' : 'no', v);
      const ec = parts.find((p) => ['redundancy', 'fec', 'none'].includes(p));
      if (parts.includes('yes')) put('t38_udptl_ec', ec ?? 'none', v);
      const max = parts.find((p) => p.startsWith('maxdatagram='));
      if (max) put('t38_udptl_maxdatagram', max.slice('maxdatagram='.length), v);
      return true;
    }
    case 'outboundproxy': {
      const uri = proxyUri(v.value);
      if (uri) put('outbound_proxy', uri, v);
      return uri !== undefined;
    }
    case 'qualify':
      // chan_sip's qualify=yes|<ms> pings every qualifyfreq (default 60 s).
      if (val !== 'no') aorPut('qualify_frequency', '60', v);
      return true;
    default:
      return false;
  }
}

function peer(cat: ConfigCategory, realm: string, out: Conversion): ConfigCategory[] {
  const name = cat.name;
  const ep = section(name, 'endpoint', cat.origin);
  const aor = section(name, 'aor', cat.origin);
  const made = [ep.cat, aor.cat];
  for (const v of lastWins(cat.variables)) {
    const key = v.name.toLowerCase();
    if (SAME_VALUE[key]) ep.put(SAME_VALUE[key], v.value, v);
    else if (AOR_VALUE[key]) aor.put(AOR_VALUE[key], v.value, v);
    else if (!CONSUMED.has(key) && !special(v, ep.put, aor.put)) {
      out.skipped.push({
        origin: v.origin,
        text: `${v.name}=${v.value}`,
        reason: WHY_NOT[key] ?? 'a chan_sip option with no PJSIP equivalent here',
      });
    }
  }
  const host = lastValue(cat, 'host') ?? 'dynamic';
  // The last line of each (a peer's own over its template's), as chan_sip read them.
  const lastVar = (n: string) => cat.variables.filter((v) => v.name === n).pop();
  const hostOrigin = lastVar('host') ?? cat.origin;
  ep.put('aors', name, hostOrigin);
  const fixed = host !== 'dynamic';
  if (fixed) {
    const user = lastValue(cat, 'defaultuser') ?? lastValue(cat, 'username');
    const port = lastValue(cat, 'port');
    aor.put('contact', `sip:${user ? `${user}@` : ''}${hostPort(host, port)}`, hostOrigin);
  } else aor.put('max_contacts', '1', hostOrigin);
  const mailbox = lastVar('mailbox');
  if (mailbox) (lastValue(cat, 'subscribemwi') === 'yes' ? aor : ep).put('mailboxes', mailbox.value, mailbox);
  const secret = lastVar('md5secret') ?? lastVar('secret');
  if (secret) {
    const inbound = !(lastValue(cat, 'insecure') ?? '').includes('invite');
    // chan_sip challenged a peer by its name but answered a provider's challenge as defaultuser
    // (peer->username): one auth when both agree, else a second one for the outbound side.
    const outUser = fixed ? (lastValue(cat, 'defaultuser') ?? lastValue(cat, 'username') ?? name) : name;
    const makeAuth = (id: string, username: string) => {
      const auth = section(id, 'auth', secret.origin);
      auth.put('username', username, secret);
      // The realm pins what md5_cred was computed with; a trunk's outbound auth must not be tied
      // to one (it answers the provider's realm).
      if (!fixed || secret.name === 'md5secret') auth.put('realm', realm, secret);
      if (secret.name === 'md5secret') {
        auth.put('auth_type', 'md5', secret);
        auth.put('md5_cred', secret.value, secret);
      } else auth.put('password', secret.value, secret);
      made.push(auth.cat);
    };
    const split = fixed && inbound && outUser !== name;
    makeAuth(name, split || !fixed ? name : outUser);
    if (inbound) ep.put('auth', name, secret);
    if (split) makeAuth(`${name}-outbound`, outUser);
    // A trunk answers its provider's challenges with the same secret: it keeps it in clear.
    if (fixed) ep.put('outbound_auth', split ? `${name}-outbound` : name, secret);
  }
  const type = lastValue(cat, 'type') ?? 'friend';
  const match = fixed ? host : lastValue(cat, 'defaultip');
  if ((type === 'peer' || type === 'friend') && match) {
    const id = section(name, 'identify', 'origin' in hostOrigin ? hostOrigin.origin : hostOrigin);
    id.put('endpoint', name, hostOrigin);
    id.put('match', match, hostOrigin);
    made.push(id.cat);
  }
  return made;
}

/**
 * chan_sip's outboundproxy=[udp://]host[:port][,force] as the SIP URI PJSIP wants; undefined for a
 * tcp:// or tls:// proxy (its ;transport= parameter cannot be a directory value: res_config_ldap
 * splits values at ";").
 */
function proxyUri(value: string): string | undefined {
  const m = /^\s*(?:(udp|tcp|tls):\/\/)?([^,\s]+)(?:\s*,\s*force)?\s*$/i.exec(value);
  if (!m || (m[1] && m[1].toLowerCase() !== 'udp')) return undefined;
  return `sip:${m[2]}`;
}

/** The largest max_retries PJSIP takes (an unsigned int): "for ever" at one try per retry_interval. */
const UINT_MAX = 4294967295;

const hostPort = (host: string, port: string | undefined) => {
  const h = host.includes(':') && !host.startsWith('[') && /^[0-9a-f:]+$/i.test(host) ? `[${host}]` : host;
  return port ? `${h.replace(/:\d+$/, '')}:${port}` : h;
};

/** `register => [transport://]user[@domain][:secret[:authuser]]@host[:port][/extension][~expiry]`. */
export function registration(v: ConfigVariable, general: ConfigCategory, transports: ReadonlySet<string>): ConfigCategory[] | string {
  let line = v.value.trim();
  let transport = 'udp';
  const t = /^(?:[^?]*\?)?(udp|tcp|tls):\/\//i.exec(line);
  if (t) {
    transport = t[1]!.toLowerCase();
    line = line.slice(t[0].length);
  }
  const at = line.lastIndexOf('@');
  if (at <= 0) return 'expected user@host';
  const [hostPart = '', expiry] = line.slice(at + 1).split('~');
  const [hostAndPort = '', extension] = hostPart.split('/');
  const [host = '', port] = hostAndPort.split(':');
  const userPart = line.slice(0, at).split(':');
  const [userAt = '', ...rest] = userPart;
  const [secret, authuser] = rest.length === 3 ? rest.slice(1) : rest;
  const [user, domain] = userAt.split('@');
  if (!host || !user) return 'expected user@host';
  const name = `reg_${host}`;
  const reg = section(name, 'registration', v.origin);
  reg.put('server_uri', `sip:${host}${port ? `:${port}` : ''}`, v);
  reg.put('client_uri', `sip:${user}@${domain ?? host}${rest.length === 3 ? `:${rest[0]}` : port ? `:${port}` : ''}`, v);
  if (extension) reg.put('contact_user', extension, v);
  reg.put('expiration', expiry || '120', v);
  reg.put('retry_interval', lastValue(general, 'registertimeout') ?? '20', v);
  // chan_sip's registerattempts=0 retries for ever; PJSIP's max_retries=0 never retries.
  const attempts = lastValue(general, 'registerattempts')?.trim() ?? '10';
  reg.put('max_retries', attempts === '0' ? String(UINT_MAX) : attempts, v);
  // Only a transport this conversion made: a site's own pjsip.conf may name its transports otherwise.
  if (transports.has(`transport-${transport}`)) reg.put('transport', `transport-${transport}`, v);
  const proxy = proxyUri(lastValue(general, 'outboundproxy') ?? '');
  if (proxy) reg.put('outbound_proxy', proxy, v);
  const made = [reg.cat];
  if (secret) {
    const auth = section(`auth_${name}`, 'auth', v.origin);
    auth.put('username', authuser || user, v);
    auth.put('password', secret, v);
    reg.put('outbound_auth', `auth_${name}`, v);
    made.push(auth.cat);
  }
  return made;
}

/** Classes of a chan_sip realtime peer, as data/asterisk/sample.ldif lays one out. */
export const SIP_PEER_CLASSES = ['top', 'AsteriskAccount', 'AsteriskExtension', 'AsteriskSIPUser'];

/**
 * --chan-sip: the peer as a chan_sip realtime row too (sippeers, for sites still on Asterisk
 * 20). Options keep their chan_sip names, which the [sip] table maps; a secret becomes
 * md5secret = {md5}MD5(name:realm:secret) (the driver strips the prefix) unless the peer has a
 * fixed host (a trunk needs its secret) or --keep-cleartext.
 */
function sipPeer(cat: ConfigCategory, realm: string, ctx: ConvertContext, out: Conversion): void {
  const b = ctx.builder('sippeers', cat.name, cat.origin, `sip peer ${cat.name}`, SIP_PEER_CLASSES, out);
  b.setAttribute('AstAccountName', [cat.name]);
  const fixed = (lastValue(cat, 'host') ?? 'dynamic') !== 'dynamic';
  const secret = lastValue(cat, 'secret');
  const hash = secret !== undefined && !fixed && !ctx.keepCleartext && lastValue(cat, 'md5secret') === undefined;
  const skip = new Set(hash ? ['secret'] : []);
  for (const col of columnsOf(cat, skip, SIP_LIST_OPTIONS)) {
    const name = col.name === 'canreinvite' ? 'directmedia' : col.name;
    const values = name === 'md5secret' ? col.values.map((v) => (v.startsWith('{md5}') ? v : `{md5}${v}`)) : col.values;
    b.set(name, values, { file: col.file, line: col.line }, `${col.name}=${col.values.join(',')}`);
  }
  if (hash) b.set('md5secret', [`{md5}${md5hex(`${cat.name}:${realm}:${secret}`)}`], cat.origin);
  out.entries.push(b.entry);
}

/** chan_sip options that add up when repeated; every other one is set by its last line. */
const SIP_LIST_OPTIONS = new Set(['allow', 'disallow', 'permit', 'deny', 'acl', 'contactpermit', 'contactdeny', 'contactacl', 'setvar']);

/**
 * The lines chan_sip acted on: each option's last (a peer's nat=no replaces its template's
 * nat=force_rport,comedia whole, so none of the PJSIP options that one made may stay), and every
 * line of the options that add up.
 */
function lastWins(vars: ConfigVariable[]): ConfigVariable[] {
  const last = new Map<string, ConfigVariable>();
  for (const v of vars) last.set(canonicalOption(v.name), v);
  return vars.filter((v) => SIP_LIST_OPTIONS.has(v.name.toLowerCase()) || last.get(canonicalOption(v.name)) === v);
}

export function convertSip(cfg: ParsedConfig, ctx: ConvertContext, out: Conversion): void {
  const general = cfg.categories.find((c) => c.name === 'general') ?? {
    name: 'general',
    template: false,
    inherits: [],
    variables: [],
    origin: { file: cfg.file, line: 0 },
  };
  const realm = lastValue(general, 'realm') || 'asterisk';
  // A pjsip.conf beside it defines the transports; two files' static rows cannot share pjsip.conf.
  const ownTransports = !ctx.files.has('pjsip.conf');
  const transports = ownTransports ? sipTransports(general) : [];
  const names = new Set(transports.map((t) => t.name));
  const made: ConfigCategory[] = [];
  for (const v of general.variables) {
    if (['realm', 'registertimeout', 'registerattempts'].includes(v.name) || isPeerDefault(v)) continue; // used below
    if (isTransportOption(v) && ownTransports) continue;
    if (v.name !== 'register') {
      out.skipped.push({
        origin: v.origin,
        text: `${v.name}=${v.value}`,
        reason: isTransportOption(v)
          ? "sip.conf [general]: this directory's pjsip.conf defines the transports"
          : (WHY_NOT[v.name.toLowerCase()] ?? 'sip.conf [general]: set transports and globals in pjsip.conf'),
      });
      continue;
    }
    const r = registration(v, general, names);
    if (typeof r === 'string') out.skipped.push({ origin: v.origin, text: `register => ${v.value}`, reason: r });
    else made.push(...r);
  }
  const defaults = peerDefaults(general);
  for (const cat of cfg.categories) {
    if (cat.template || cat === general) continue;
    if (cat.name === 'authentication') {
      for (const v of cat.variables)
        out.skipped.push({
          origin: v.origin,
          text: `${v.name}=${v.value}`,
          reason: 'realm credentials: define outbound auths in pjsip.conf',
        });
      continue;
    }
    made.push(...peer(withDefaults(cat, defaults), realm, out));
    // A chan_sip realtime peer still gets [general]'s defaults from the static sip.conf.
    if (ctx.chanSip) sipPeer(cat, realm, ctx, out);
  }
  if (ctx.chanSip) out.families.push('sippeers');
  convertPjsipObjects(made, ctx, out, realm);
  out.families.push(...Object.values(PJSIP_TYPES).map((k) => k.family));
  if (transports.length) staticRows('pjsip.conf', transports, ctx, out);
}
