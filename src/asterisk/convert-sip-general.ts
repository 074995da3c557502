// sip.conf's [general] for the PJSIP conversion: chan_sip copied many of its options into every
// peer as the peer's default (set_peer_defaults: context, codecs, nat, dtmfmode, qualify, ...),
// so they are expanded into each peer here; its listening sockets become the PJSIP transports
// transport-udp and transport-tcp, named and bound as Asterisk's sip_to_pjsip writes them, and
// useragent the [global] user_agent.

import type { ConfigCategory, ConfigVariable, Origin } from './config-parser.js';
import { lastValue } from './config-parser.js';

/** [general] options chan_sip used as every peer's default (chan_sip.c, set_peer_defaults). */
const PEER_DEFAULTS = new Set([
  'context',
  'subscribecontext',
  'language',
  'mohsuggest',
  'allow',
  'disallow',
  'nat',
  'dtmfmode',
  'directmedia',
  'canreinvite',
  'insecure',
  'progressinband',
  'trustrpid',
  'sendrpid',
  'allowsubscribe',
  'allowoverlap',
  'allowtransfer',
  'autoframing',
  'rtptimeout',
  'rtpholdtimeout',
  'qualify',
  'qualifyfreq',
  'session-timers',
  'session-expires',
  'session-minse',
  'tonezone',
  't38pt_udptl',
  'vmexten',
  'recordonfeature',
  'recordofffeature',
  'rtp_engine',
  'send_diversion',
  'icesupport',
  'avpf',
  'encryption',
  'encryption_taglen',
  // [general]-only in chan_sip, so every peer's call used them; sip_to_pjsip writes them per endpoint.
  'tos_audio',
  'tos_video',
  'cos_audio',
  'cos_video',
  'sdpowner',
  'sdpsession',
  'subminexpiry',
  'outboundproxy',
  // Registrar limits are [general]-only in chan_sip; sip_to_pjsip writes them into every aor.
  'maxexpiry',
  'minexpiry',
  'defaultexpiry',
]);

/** One name for the spellings of one option (directmedia and the older canreinvite), lower case. */
export const canonicalOption = (name: string): string => (name.toLowerCase() === 'canreinvite' ? 'directmedia' : name.toLowerCase());

/** [general]'s variables that are peer defaults. */
export function peerDefaults(general: ConfigCategory): ConfigVariable[] {
  return general.variables.filter((v) => PEER_DEFAULTS.has(v.name.toLowerCase()));
}

export const isPeerDefault = (v: ConfigVariable): boolean => PEER_DEFAULTS.has(v.name.toLowerCase());

/**
 * The peer as chan_sip saw it: [general]'s defaults first, then its own lines. A peer's own
 * option replaces the default; codecs add up (chan_sip started a peer from the global codecs)
 * unless the peer starts over with disallow=all.
 */
export function withDefaults(peer: ConfigCategory, defaults: ConfigVariable[]): ConfigCategory {
  const own = new Set(peer.variables.map((v) => canonicalOption(v.name)));
  const restartsCodecs = peer.variables.some((v) => v.name.toLowerCase() === 'disallow' && v.value.trim().toLowerCase() === 'all');
  const inherited = defaults.filter((v) => {
    const key = canonicalOption(v.name);
    if (key === 'allow' || key === 'disallow') return !restartsCodecs;
    return !own.has(key);
  });
  if (!inherited.length) return peer;
  return { ...peer, variables: [...inherited.map((v) => ({ ...v, inheritedFrom: 'general' })), ...peer.variables] };
}

/** [general] options that make the transports and [global] (read here, not reported). */
const TRANSPORT_OPTIONS = new Set([
  'bindaddr',
  'bindport',
  'udpbindaddr',
  'tcpenable',
  'tcpbindaddr',
  'localnet',
  'externaddr',
  'externip',
  'externhost',
  'tos_sip',
  'cos_sip',
  'useragent',
]);
export const isTransportOption = (v: ConfigVariable): boolean => TRANSPORT_OPTIONS.has(v.name.toLowerCase());

/** addr[:port] (IPv6 in brackets or bare) as a PJSIP bind value, port from bindport or 5060. */
export function bindValue(addr: string | undefined, port: string | undefined): string {
  const a = (addr ?? '').trim() || '0.0.0.0';
  const p = (port ?? '').trim() || '5060';
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(a);
  return m ? `${m[1]}:${m[2] ?? p}` : `[${a}]:${p}`;
}

/**
 * The transports chan_sip listened on: always UDP (chan_sip always did), TCP with tcpenable=yes.
 * Each carries localnet, externaddr/externip/externhost (media and signalling) and tos/cos.
 */
export function sipTransports(general: ConfigCategory): ConfigCategory[] {
  // (and [global] with useragent's user_agent, first: it is the section Asterisk reads first)
  const origin: Origin = general.origin;
  const port = lastValue(general, 'bindport');
  const bindaddr = lastValue(general, 'bindaddr');
  const made: ConfigCategory[] = [];
  const make = (protocol: 'udp' | 'tcp', addr: string | undefined, from: ConfigVariable | undefined) => {
    const o = from?.origin ?? origin;
    const vars: ConfigVariable[] = [];
    const put = (name: string, value: string, at: Origin = o) => vars.push({ name, value, object: false, origin: at });
    put('type', 'transport');
    put('protocol', protocol);
    put('bind', bindValue(addr ?? bindaddr, port));
    for (const v of general.variables) {
      const key = v.name.toLowerCase();
      if (key === 'localnet') put('local_net', v.value, v.origin);
      else if (key === 'tos_sip') put('tos', v.value, v.origin);
      else if (key === 'cos_sip') put('cos', v.value, v.origin);
    }
    const ext = general.variables.filter((v) => ['externaddr', 'externip', 'externhost'].includes(v.name.toLowerCase())).pop();
    if (ext) {
      const [host = '', extPort] = ext.value.trim().split(':');
      put('external_media_address', host, ext.origin);
      put('external_signaling_address', host, ext.origin);
      if (extPort) put('external_signaling_port', extPort, ext.origin);
    }
    made.push({ name: `transport-${protocol}`, template: false, inherits: [], variables: vars, origin: o });
  };
  const agent = general.variables.filter((v) => v.name.toLowerCase() === 'useragent').pop();
  if (agent) {
    const vars: ConfigVariable[] = [
      { name: 'type', value: 'global', object: false, origin: agent.origin },
      { name: 'user_agent', value: agent.value, object: false, origin: agent.origin },
    ];
    made.push({ name: 'global', template: false, inherits: [], variables: vars, origin: agent.origin });
  }
  const udp = general.variables.filter((v) => v.name.toLowerCase() === 'udpbindaddr').pop();
  make('udp', udp?.value, udp);
  if ((lastValue(general, 'tcpenable') ?? 'no').trim().toLowerCase() === 'yes') {
    const tcp = general.variables.filter((v) => v.name.toLowerCase() === 'tcpbindaddr').pop();
    make('tcp', tcp?.value, tcp);
  }
  return made;
}
