// The converters of src/asterisk on small config directories (no server): which PJSIP passwords
// become md5_cred and with which realm, what is reported instead of converted (duplicates, ";"
// values, empty values, #exec, bad mailbox options, members without an interface, dialplan
// lines realtime cannot hold), the priorities `n` resolves to, and the containers emitted.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertDirectory, type ConvertResult } from '../../src/asterisk/convert.js';
import { ExtConfig } from '../../src/asterisk/mapping.js';
import { md5hex, type DraftEntry } from '../../src/asterisk/model.js';
import { exitStatus, reportJson, reportText } from '../../src/asterisk/output.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';

const tmp = useTempDir('astldap-astconv-');
let n = 0;
function convert(files: Record<string, string>, keepCleartext = false): ConvertResult {
  const dir = path.join(tmp(), String(++n));
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
  return convertDirectory({ dir, keepCleartext });
}
const entry = (r: ConvertResult, dnStart: string): DraftEntry => {
  const e = r.entries.find((x) => x.dn.startsWith(dnStart));
  if (!e) throw new Error(`no entry ${dnStart}: ${r.entries.map((x) => x.dn).join(' ')}`);
  return e;
};
const attr = (e: DraftEntry, a: string) => e.attributes.get(a);
const skipped = (r: ConvertResult) =>
  r.conversions.flatMap((c) => c.skipped.map((s) => `${s.origin.file}:${s.origin.line} ${s.text} | ${s.reason}`));

describe('pjsip auths', () => {
  const conf = `
[global]
type=global
default_realm=pbx.example

[a]
type=auth
username=a
password=pw-a

[b]
type=auth
username=b
realm=other.example
password=pw-b

[trunk]
type=auth
username=acct
password=pw-t

[reg]
type=registration
outbound_auth=trunk
server_uri=sip:x

[nouser]
type=auth
password=pw-n

[oauth]
type=auth
auth_type=google_oauth
refresh_token=tok
`;

  it('hashes with the auth realm, else default_realm; keeps outbound, username-less and non-password auths', () => {
    const r = convert({ 'pjsip.conf': conf });
    const a = entry(r, 'cn=a,ou=auths');
    expect([
      attr(a, 'AstPjsipAuthAuthType'),
      attr(a, 'AstPjsipAuthRealm'),
      attr(a, 'AstPjsipAuthMd5Cred'),
      attr(a, 'AstAccountSecret'),
    ]).toEqual([['md5'], ['pbx.example'], [md5hex('a:pbx.example:pw-a')], undefined]);
    expect(attr(entry(r, 'cn=b,ou=auths'), 'AstPjsipAuthMd5Cred')).toEqual([md5hex('b:other.example:pw-b')]);
    expect(attr(entry(r, 'cn=trunk,ou=auths'), 'AstAccountSecret')).toEqual(['pw-t']);
    expect(attr(entry(r, 'cn=trunk,ou=auths'), 'AstPjsipAuthMd5Cred')).toBeUndefined();
    expect(attr(entry(r, 'cn=nouser,ou=auths'), 'AstAccountSecret')).toEqual(['pw-n']);
    expect(attr(entry(r, 'cn=oauth,ou=auths'), 'AstPjsipAuthAuthType')).toEqual(['google_oauth']);
  });

  it('--keep-cleartext keeps every password', () => {
    const r = convert({ 'pjsip.conf': conf }, true);
    expect(attr(entry(r, 'cn=a,ou=auths'), 'AstAccountSecret')).toEqual(['pw-a']);
    expect(attr(entry(r, 'cn=a,ou=auths'), 'AstPjsipAuthMd5Cred')).toBeUndefined();
  });

  it('realm asterisk when nothing names one', () => {
    const r = convert({ 'pjsip.conf': '[x]\ntype=auth\nusername=x\npassword=p\n' });
    expect(attr(entry(r, 'cn=x,ou=auths'), 'AstPjsipAuthMd5Cred')).toEqual([md5hex('x:asterisk:p')]);
  });
});

describe('what is reported instead of converted', () => {
  it('pjsip: duplicates, ";" values, empty values, unknown options, no type, contacts, #exec', () => {
    const r = convert({
      'pjsip.conf': [
        '#exec /bin/true',
        '[e]',
        'type=endpoint',
        'set_var=A=1\\;B=2',
        'callerid=',
        'no_such_option=1',
        '[e]',
        'type=endpoint',
        '[untyped]',
        'x=1',
        '[c]',
        'type=contact',
        '[t]',
        'type=transport',
        'bind=a\\;b',
        '',
      ].join('\n'),
    });
    expect(skipped(r)).toEqual([
      'pjsip.conf:1 #exec /bin/true | the converter does not run programs',
      'pjsip.conf:4 set_var=A=1;B=2 | the value contains ";", which res_config_ldap splits into several values',
      'pjsip.conf:5 callerid= | an empty value: the directory cannot store one (the option stays at its default)',
      expect.stringMatching(/^pjsip\.conf:6 no_such_option=1 \| no attribute for "no_such_option" in \[ps_endpoints\]/),
      'pjsip.conf:9 [untyped] | no type= in the section (or its templates)',
      expect.stringMatching(/^pjsip\.conf:11 \[c\] type=contact \| contacts are written by the registrar/),
      'pjsip.conf:15 bind=a;b | the value contains ";", which res_config_ldap splits into several rows',
      'pjsip.conf:7 endpoint e | a second definition of cn=e,ou=endpoints,ou=pjsip,dc=example,dc=domain (the first one is converted)',
    ]);
    expect(r.entries.filter((e) => e.family === 'ps_endpoints')).toHaveLength(1);
    expect(exitStatus(r)).toBe(3);
  });

  it('voicemail options without "=", queue members without an interface', () => {
    const r = convert({
      'voicemail.conf': '[default]\n100 => 1234,Name,,,attach=yes|bogus\n',
      'queues.conf': '[q]\nmember => ,1\n',
    });
    expect(skipped(r)).toEqual([
      'voicemail.conf:2 bogus | a mailbox option needs key=value',
      'queues.conf:2 member => ,1 | a member needs an interface',
    ]);
    expect(attr(entry(r, 'cn=100,ou=voicemail'), 'AstVoicemailAttach')).toEqual(['yes']);
  });

  it('voicemail: the aliasescontext holds aliases, not mailboxes; without the setting it is a context like any', () => {
    const conf = (general: string) => `[general]\n${general}\n[default]\n200 => 1111,Ann\n[shortcuts]\n200@desk => 200@default\n`;
    const r = convert({ 'voicemail.conf': conf('aliasescontext=Shortcuts') });
    expect(r.entries.filter((e) => e.family === 'voicemail').map((e) => e.dn)).toEqual([`cn=200,ou=voicemail,dc=example,dc=domain`]);
    expect(skipped(r)).toContain(
      'voicemail.conf:6 200@desk=200@default | [shortcuts] is the aliasescontext: app_voicemail reads aliases from the static voicemail.conf only',
    );
    expect(r.conversions[0]!.remainder).toContainEqual({ name: 'shortcuts', lines: ['200@desk => 200@default'] });
    // app_voicemail without aliasescontext loads [shortcuts] as mailboxes: so does the conversion.
    expect(convert({ 'voicemail.conf': conf('attach=no') }).entries.map((e) => e.dn)).toContain(
      'cn=200@desk@shortcuts,ou=voicemail,dc=example,dc=domain',
    );
  });

  it('a file that does not parse: exit 1, nothing of it, the others still converted', () => {
    const r = convert({ 'queues.conf': '[q]\nbroken\n', 'voicemail.conf': '[default]\n1 => 2\n' });
    expect(r.conversions.find((c) => c.file === 'queues.conf')!.error).toBe('queues.conf:2: no "=" in "broken"');
    expect(r.entries.some((e) => e.family === 'queues')).toBe(false);
    expect(r.entries.some((e) => e.family === 'voicemail')).toBe(true);
    expect(exitStatus(r)).toBe(1);
  });

  it('a family the site extconfig.conf does not serve: that file is not converted, exit 1', () => {
    const dir = path.join(tmp(), 'noqueues');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'queues.conf'), '[q]\nstrategy=ringall\n');
    writeFileSync(path.join(dir, 'voicemail.conf'), '[default]\n1 => 2\n');
    const ext = ExtConfig.parse('[settings]\nvoicemail => ldap,"ou=voicemail,dc=x",voicemail\n', 'ext.conf');
    const r = convertDirectory({ dir, extconfig: ext });
    expect(r.conversions.find((c) => c.file === 'queues.conf')!.error).toBe('ext.conf maps no queues => ldap,...');
    expect(entry(r, 'cn=1,ou=voicemail').dn).toBe('cn=1,ou=voicemail,dc=x');
    expect(exitStatus(r)).toBe(1);
  });

  it("a queue's strategy is the first of its category, as app_queue reads it (a template's before its own): the later one is reported", () => {
    // Found by the real-Asterisk run (docs/migration-run.md): static Asterisk rang ringall here.
    const r = convert({ 'queues.conf': '[base](!)\nstrategy=ringall\n\n[support](base)\nstrategy=leastrecent\n' });
    expect(
      entry(r, 'cn=support,ou=queues').attributes.get('AstQueueStrategy') ?? entry(r, 'cn=support,ou=queues').attributes.get('strategy'),
    ).toEqual(['ringall']);
    expect(r.conversions.flatMap((c) => c.skipped ?? []).some((s) => s.text === 'strategy=leastrecent')).toBe(true);
    expect(exitStatus(r)).toBe(3);
  });

  it('nothing left over: exit 0', () => {
    expect(exitStatus(convert({ 'voicemail.conf': '[default]\n1 => 2\n' }))).toBe(0);
  });
});

describe('sip.conf (chan_sip) to PJSIP', () => {
  const sip = readFileSync(path.join(repoRoot, 'test/fixtures/asterisk-sip/sip.conf'), 'utf8');

  it('phones: endpoint, aor (max_contacts 1), auth hashed with the chan_sip realm; md5secret carries over', () => {
    const r = convert({ 'sip.conf': sip });
    const ep = entry(r, 'cn=3001,ou=endpoints');
    expect([attr(ep, 'AstAccountContext'), attr(ep, 'AstAccountAllowedCodec'), attr(ep, 'AstAccountDTMFMode')]).toEqual([
      ['office'],
      ['ulaw'],
      ['rfc4733'],
    ]);
    expect([
      attr(ep, 'AstPjsipEndpointForceRport'),
      attr(ep, 'AstPjsipEndpointRtpSymmetric'),
      attr(ep, 'AstPjsipEndpointRewriteContact'),
    ]).toEqual([['yes'], ['yes'], ['yes']]);
    expect([attr(ep, 'AstPjsipEndpointAuth'), attr(ep, 'AstPjsipEndpointAors'), attr(ep, 'AstPjsipEndpointOutboundAuth')]).toEqual([
      ['3001'],
      ['3001'],
      undefined,
    ]);
    expect(attr(entry(r, 'cn=3001,ou=aors'), 'AstPjsipAorMaxContacts')).toEqual(['1']);
    expect(attr(entry(r, 'cn=3001,ou=aors'), 'AstPjsipAorQualifyFrequency')).toEqual(['60']);
    expect(attr(entry(r, 'cn=3001,ou=auths'), 'AstPjsipAuthMd5Cred')).toEqual([md5hex('3001:old.example:s3001')]);
    const md5 = entry(r, 'cn=3002,ou=auths');
    expect([attr(md5, 'AstPjsipAuthAuthType'), attr(md5, 'AstPjsipAuthMd5Cred'), attr(md5, 'AstPjsipAuthRealm')]).toEqual([
      ['md5'],
      ['c8f59dbda97c662a87f2069723177a58'],
      ['old.example'],
    ]);
    // An escaped ";" is part of the old secret.
    expect(attr(entry(r, 'cn=3101,ou=auths'), 'AstPjsipAuthMd5Cred')).toEqual([md5hex('3101:old.example:soft;3101')]);
  });

  it('a trunk: contact, identify, outbound auth in clear without a realm, no inbound auth with insecure=invite', () => {
    const r = convert({ 'sip.conf': sip });
    const ep = entry(r, 'cn=carrier,ou=endpoints');
    expect([attr(ep, 'AstPjsipEndpointAuth'), attr(ep, 'AstPjsipEndpointOutboundAuth'), attr(ep, 'AstPjsipEndpointDirectMedia')]).toEqual([
      undefined,
      ['carrier'],
      ['no'],
    ]);
    expect(attr(entry(r, 'cn=carrier,ou=aors'), 'AstPjsipAorContact')).toEqual(['sip:203.0.113.5']);
    expect(attr(entry(r, 'cn=carrier,ou=identify'), 'AstPjsipIdentifyMatch')).toEqual(['203.0.113.5']);
    const auth = entry(r, 'cn=carrier,ou=auths');
    expect([attr(auth, 'AstAccountSecret'), attr(auth, 'AstPjsipAuthRealm')]).toEqual([['carrier-secret'], undefined]);
  });

  it('register => becomes a registration with its own auth; unknown options are reported', () => {
    const r = convert({ 'sip.conf': sip });
    const reg = entry(r, 'cn=reg_sip.carrier.example,ou=registrations');
    expect([
      attr(reg, 'AstPjsipRegistrationServerUri'),
      attr(reg, 'AstPjsipRegistrationClientUri'),
      attr(reg, 'AstPjsipRegistrationContactUser'),
    ]).toEqual([['sip:sip.carrier.example:5060'], ['sip:trunkuser@sip.carrier.example:5060'], ['5550199']]);
    expect(attr(reg, 'AstPjsipRegistrationOutboundAuth')).toEqual(['auth_reg_sip.carrier.example']);
    expect(attr(entry(r, 'cn=auth_reg_sip.carrier.example,ou=auths'), 'AstAccountSecret')).toEqual(['trunkpass']);
    expect(attr(reg, 'AstAccountTransport')).toEqual(['transport-udp']);
    expect(skipped(r)).toEqual([
      expect.stringMatching(/^sip\.conf:11 allowguest=no \| PJSIP answers no unknown peer/),
      expect.stringMatching(/^sip\.conf:16 srvlookup=yes \| PJSIP resolves SRV/),
      expect.stringMatching(/^sip\.conf:97 videosupport=yes \| PJSIP has no such switch/),
    ]);
  });

  it('--chan-sip: the peers as chan_sip realtime rows too; only trunks keep their secret', () => {
    const dir = path.join(tmp(), 'chansip');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'sip.conf'), sip);
    const r = convertDirectory({ dir, chanSip: true });
    const p = entry(r, 'cn=3001,ou=sip');
    expect([attr(p, 'AstAccountName'), attr(p, 'AstAccountNAT'), attr(p, 'AstAccountSecret')]).toEqual([
      ['3001'],
      ['force_rport,comedia'],
      undefined,
    ]);
    expect(attr(p, 'AstAccountRealmedPassword')).toEqual([`{md5}${md5hex('3001:old.example:s3001')}`]);
    expect(attr(entry(r, 'cn=3002,ou=sip'), 'AstAccountRealmedPassword')).toEqual(['{md5}c8f59dbda97c662a87f2069723177a58']);
    expect(attr(entry(r, 'cn=carrier,ou=sip'), 'AstAccountCanReinvite')).toEqual(['no']);
    expect(attr(entry(r, 'cn=carrier,ou=sip'), 'AstAccountSecret')).toEqual(['carrier-secret']);
    expect(convert({ 'sip.conf': sip }).entries.some((e) => e.family === 'sippeers')).toBe(false);
  });

  it("[general]'s peer defaults apply to every peer, its own options first; codecs add up unless disallow=all", () => {
    const r = convert({
      'sip.conf': [
        '[general]',
        'context=incoming',
        'canreinvite=no',
        'allow=alaw',
        'qualify=yes',
        'nat=force_rport',
        'maxexpiry=600',
        '[a]',
        'host=dynamic',
        'allow=ulaw',
        '[b]',
        'host=dynamic',
        'context=office',
        'directmedia=yes',
        'disallow=all',
        'allow=g722',
        'nat=no',
      ].join('\n'),
    });
    const a = entry(r, 'cn=a,ou=endpoints');
    expect([attr(a, 'AstAccountContext'), attr(a, 'AstPjsipEndpointDirectMedia'), attr(a, 'AstAccountAllowedCodec')]).toEqual([
      ['incoming'],
      ['no'],
      ['alaw', 'ulaw'],
    ]);
    expect([
      attr(entry(r, 'cn=a,ou=aors'), 'AstPjsipAorQualifyFrequency'),
      attr(entry(r, 'cn=a,ou=aors'), 'AstPjsipAorMaximumExpiration'),
    ]).toEqual([['60'], ['600']]);
    const b = entry(r, 'cn=b,ou=endpoints');
    expect([attr(b, 'AstAccountContext'), attr(b, 'AstPjsipEndpointDirectMedia'), attr(b, 'AstAccountAllowedCodec')]).toEqual([
      ['office'],
      ['yes'],
      ['g722'],
    ]);
    expect([attr(a, 'AstPjsipEndpointForceRport'), attr(b, 'AstPjsipEndpointForceRport')]).toEqual([['yes'], ['no']]);
    // Used as defaults, not reported as left out.
    expect(skipped(r)).toEqual([]);
  });

  it('[general] sockets become transport-udp (always) and transport-tcp, useragent the [global] user_agent', () => {
    const general = [
      '[general]',
      'udpbindaddr=192.0.2.1',
      'bindport=5070',
      'tcpenable=yes',
      'tcpbindaddr=[2001:db8::1]:5080',
      'localnet=10.0.0.0/8',
      'localnet=172.16.0.0/12',
      'externaddr=198.51.100.7:5071',
      'useragent=PBX 1',
      'register => u:p@reg.example',
    ].join('\n');
    const r = convert({ 'sip.conf': general });
    const row = (dn: string) => attr(entry(r, `cn=pjsip.conf-${dn},ou=config`), 'AstConfigVariableValue');
    const rows = r.entries
      .filter((e) => e.family === 'pjsip.conf')
      .map(
        (e) =>
          `${attr(e, 'AstConfigCategory')!.join()} ${attr(e, 'AstConfigVariableName')!.join()}=${attr(e, 'AstConfigVariableValue')!.join()}`,
      );
    expect(rows).toEqual([
      'global type=global',
      'global user_agent=PBX 1',
      'transport-udp type=transport',
      'transport-udp protocol=udp',
      'transport-udp bind=192.0.2.1:5070',
      'transport-udp local_net=10.0.0.0/8',
      'transport-udp local_net=172.16.0.0/12',
      'transport-udp external_media_address=198.51.100.7',
      'transport-udp external_signaling_address=198.51.100.7',
      'transport-udp external_signaling_port=5071',
      'transport-tcp type=transport',
      'transport-tcp protocol=tcp',
      'transport-tcp bind=[2001:db8::1]:5080',
      'transport-tcp local_net=10.0.0.0/8',
      'transport-tcp local_net=172.16.0.0/12',
      'transport-tcp external_media_address=198.51.100.7',
      'transport-tcp external_signaling_address=198.51.100.7',
      'transport-tcp external_signaling_port=5071',
    ]);
    expect(row('transport-udp-3')).toEqual(['192.0.2.1:5070']);
    expect(skipped(r)).toEqual([]);
    // Beside a pjsip.conf, its transports serve: the lines are reported, the registration names none.
    const both = convert({ 'sip.conf': general, 'pjsip.conf': '[t]\ntype=transport\nprotocol=udp\n' });
    expect(both.entries.filter((e) => e.family === 'pjsip.conf' && attr(e, 'AstConfigCategory')![0] !== 't')).toEqual([]);
    expect(skipped(both)).toContain("sip.conf:3 bindport=5070 | sip.conf [general]: this directory's pjsip.conf defines the transports");
    expect(attr(entry(both, 'cn=reg_reg.example,ou=registrations'), 'AstAccountTransport')).toBeUndefined();
    // A bare sip.conf listened on 0.0.0.0:5060 UDP.
    expect(
      attr(entry(convert({ 'sip.conf': '[x]\nhost=dynamic\n' }), 'cn=pjsip.conf-transport-udp-3,ou=config'), 'AstConfigVariableValue'),
    ).toEqual(['0.0.0.0:5060']);
  });

  it("a peer's option replaces its template's whole: nat=no leaves none of nat=force_rport,comedia's; its secret over the template's", () => {
    const r = convert({
      'sip.conf':
        '[t](!)\nhost=dynamic\nnat=force_rport,comedia\nsecret=template-secret\nmailbox=1@default\n[p](t)\nnat=no\nsecret=own\nmailbox=2@default\n',
    });
    const ep = entry(r, 'cn=p,ou=endpoints');
    expect([
      attr(ep, 'AstPjsipEndpointForceRport'),
      attr(ep, 'AstPjsipEndpointRtpSymmetric'),
      attr(ep, 'AstPjsipEndpointRewriteContact'),
      attr(ep, 'AstAccountMailbox'),
    ]).toEqual([['no'], undefined, undefined, ['2@default']]);
    expect(attr(entry(r, 'cn=p,ou=auths'), 'AstPjsipAuthMd5Cred')).toEqual([md5hex('p:asterisk:own')]);
  });

  it('recordonfeature, t38pt_udptl, vmexten and cos_* map as sip_to_pjsip maps them; [general] t38pt_udptl is a default', () => {
    const r = convert({
      'sip.conf':
        '[general]\nt38pt_udptl=yes,fec,maxdatagram=400\n[a]\nhost=dynamic\nrecordonfeature=automixmon\nrecordofffeature=automixmon\nvmexten=*97\n[b]\nhost=dynamic\nt38pt_udptl=no\n',
    });
    const a = entry(r, 'cn=a,ou=endpoints');
    expect([
      attr(a, 'AstPjsipEndpointRecordOnFeature'),
      attr(a, 'AstPjsipEndpointRecordOffFeature'),
      attr(a, 'AstPjsipEndpointOneTouchRecording'),
      attr(a, 'AstPjsipEndpointVoicemailExtension'),
    ]).toEqual([['automixmon'], ['automixmon'], ['yes'], ['*97']]);
    expect([
      attr(a, 'AstPjsipEndpointT38Udptl'),
      attr(a, 'AstPjsipEndpointT38UdptlEc'),
      attr(a, 'AstPjsipEndpointT38UdptlMaxdatagram'),
    ]).toEqual([['yes'], ['fec'], ['400']]);
    expect(attr(entry(r, 'cn=b,ou=endpoints'), 'AstPjsipEndpointT38Udptl')).toEqual(['no']);
    expect(skipped(r)).toEqual([]);
  });

  it('[general]-only chan_sip options every call used (tos, sdpowner, outboundproxy, ...) go to every peer, outboundproxy as a URI', () => {
    const r = convert({
      'sip.conf':
        '[general]\ntos_audio=ef\nsdpowner=pbx\noutboundproxy=proxy.example:5070,force\nrecordonfeature=automixmon\nregister => u:p@h.example\n[a]\nhost=dynamic\n[b]\nhost=dynamic\noutboundproxy=tls://secure.example\n',
    });
    const a = entry(r, 'cn=a,ou=endpoints');
    expect([
      attr(a, 'AstPjsipEndpointTosAudio'),
      attr(a, 'AstPjsipEndpointSdpOwner'),
      attr(a, 'AstPjsipEndpointOutboundProxy'),
      attr(a, 'AstPjsipEndpointRecordOnFeature'),
    ]).toEqual([['ef'], ['pbx'], ['sip:proxy.example:5070'], ['automixmon']]);
    expect(attr(entry(r, 'cn=reg_h.example,ou=registrations'), 'AstPjsipRegistrationOutboundProxy')).toEqual(['sip:proxy.example:5070']);
    expect(skipped(r)).toEqual([
      expect.stringMatching(/^sip\.conf:11 outboundproxy=tls:\/\/secure\.example \| a tcp:\/\/ or tls:\/\/ proxy needs/),
    ]);
  });

  it('moving sip.conf to PJSIP: a dialplan line that dials SIP/ is converted and listed to check (not with --chan-sip)', () => {
    const files = {
      'sip.conf': '[1000]\nhost=dynamic\n',
      'extensions.conf':
        '[office]\nexten => 1000,1,Dial(SIP/1000,20)\nexten => 1001,1,Dial(PJSIP/1001)\nexten => 1002,hint,SIP/1002\nsame => n,Dial(sip/trunk/${EXTEN})\n',
    };
    const r = convert(files);
    const dialplan = r.conversions.find((c) => c.file === 'extensions.conf')!;
    expect(dialplan.notes!.map((n) => `${n.origin.line} ${n.text}`)).toEqual([
      '2 exten => 1000,1,Dial(SIP/1000,20)',
      '4 exten => 1002,hint,SIP/1002',
      '5 same => n,Dial(sip/trunk/${EXTEN})',
    ]);
    expect(attr(entry(r, 'cn=1000-1@office,ou=extensions'), 'AstApplicationData')).toEqual(['SIP/1000,20']);
    expect(reportText(r)).toMatch(/extensions\.conf: 3 extensions; 1 line\(s\) not converted, 3 to check\n/);
    expect(reportText(r)).toContain(
      '  check extensions.conf:2: exten => 1000,1,Dial(SIP/1000,20)  (dials SIP/, chan_sip, which Asterisk 21',
    );
    expect((reportJson(r) as Array<{ check: unknown[] }>)[1]!.check).toHaveLength(3);
    expect(exitStatus(r)).toBe(3); // the hint is left static, as before; the notes change no status
    // Still on chan_sip (Asterisk 20): nothing to check; without a sip.conf neither.
    const dir = path.join(tmp(), 'still-chan-sip');
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
    expect(convertDirectory({ dir, chanSip: true }).conversions.flatMap((c) => c.notes ?? [])).toEqual([]);
    expect(convert({ 'extensions.conf': files['extensions.conf'] }).conversions[0]!.notes).toBeUndefined();
  });

  it("registerattempts=0 (retry for ever) is the largest max_retries, not PJSIP's 0 (never retry)", () => {
    const reg = (attempts: string) =>
      attr(
        entry(
          convert({ 'sip.conf': `[general]\nregisterattempts=${attempts}\nregister => u:p@h.example\n` }),
          'cn=reg_h.example,ou=registrations',
        ),
        'AstPjsipRegistrationMaxRetries',
      );
    expect([reg('0'), reg('5')]).toEqual([['4294967295'], ['5']]);
  });

  it("a trunk answers its provider's challenges as defaultuser; challenged itself by name, it gets a second auth", () => {
    const r = convert({
      'sip.conf': [
        '[in]',
        'type=peer',
        'host=192.0.2.20',
        'defaultuser=acct-1',
        'secret=s1',
        'insecure=invite',
        '[both]',
        'type=friend',
        'host=192.0.2.21',
        'defaultuser=acct-2',
        'secret=s2',
      ].join('\n'),
    });
    expect(attr(entry(r, 'cn=in,ou=auths'), 'AstPjsipAuthUsername')).toEqual(['acct-1']);
    expect(attr(entry(r, 'cn=in,ou=endpoints'), 'AstPjsipEndpointOutboundAuth')).toEqual(['in']);
    const both = entry(r, 'cn=both,ou=endpoints');
    expect([attr(both, 'AstPjsipEndpointAuth'), attr(both, 'AstPjsipEndpointOutboundAuth')]).toEqual([['both'], ['both-outbound']]);
    expect(attr(entry(r, 'cn=both,ou=auths'), 'AstPjsipAuthUsername')).toEqual(['both']);
    const out = entry(r, 'cn=both-outbound,ou=auths');
    expect([attr(out, 'AstPjsipAuthUsername'), attr(out, 'AstAccountSecret')]).toEqual([['acct-2'], ['s2']]);
  });

  it('a peer that pjsip.conf defines too: pjsip.conf wins, the sip.conf one is reported', () => {
    const r = convert({ 'sip.conf': '[1000]\nhost=dynamic\n', 'pjsip.conf': '[1000]\ntype=endpoint\n' });
    expect(r.entries.filter((e) => e.dn.startsWith('cn=1000,ou=endpoints'))).toHaveLength(1);
    expect(skipped(r)).toContain(
      'sip.conf:1 endpoint 1000 | a second definition of cn=1000,ou=endpoints,ou=pjsip,dc=example,dc=domain (the first one is converted)',
    );
  });
});

describe('iax.conf', () => {
  it('peers and users as chan_iax2 realtime rows with the plain secret; [general] stays static', () => {
    const r = convert({
      'iax.conf':
        '[general]\nbindport=4569\nregister => a:b@c\n[iaxphone](!)\ntype=friend\nhost=dynamic\ncontext=office\nallow=ulaw\nallow=gsm\n[2000](iaxphone)\nsecret=iax-secret\ntrunk=yes\n',
    });
    const e = entry(r, 'cn=2000,ou=sip');
    expect(e.objectClasses).toEqual(['top', 'AsteriskAccount', 'AsteriskExtension', 'AsteriskIAXUser', 'AstldapIaxUser']);
    expect([attr(e, 'AstAccountName'), attr(e, 'AstAccountSecret'), attr(e, 'AstAccountAllowedCodec'), attr(e, 'AstAccountType')]).toEqual([
      ['2000'],
      ['iax-secret'],
      ['ulaw', 'gsm'],
      ['friend'],
    ]);
    expect(skipped(r)).toEqual([
      'iax.conf:2 bindport=4569 | [general] configures chan_iax2 itself: keep it in the static iax.conf',
      'iax.conf:3 register=a:b@c | [general] configures chan_iax2 itself: keep it in the static iax.conf',
      expect.stringMatching(/^iax\.conf:12 trunk=yes \| no attribute for "trunk" in \[iax\]/),
    ]);
    expect(r.conversions[0]!.remainder).toEqual([{ name: 'general', lines: ['bindport = 4569', 'register => a:b@c'] }]);
  });
});

describe('musiconhold.conf', () => {
  it('classes below ou=moh,ou=config; [general] and playlist entries stay static', () => {
    const r = convert({
      'musiconhold.conf':
        '[general]\ncachertclasses=yes\n[default]\nmode=files\ndirectory=moh\nsort=random\n[list]\nmode=playlist\nentry=/a.wav\n',
    });
    const e = entry(r, 'cn=default,ou=moh,ou=config');
    expect([attr(e, 'AstMohMode'), attr(e, 'AstMohDirectory'), attr(e, 'AstMohSort')]).toEqual([['files'], ['moh'], ['random']]);
    expect(skipped(r)).toEqual([
      'musiconhold.conf:2 cachertclasses=yes | [general] configures res_musiconhold itself: keep it in the static musiconhold.conf',
      'musiconhold.conf:9 entry => /a.wav | playlist entries (musiconhold_entry) cannot be served over LDAP: use mode=files',
    ]);
  });
});

describe('the report hides secrets', () => {
  it('password, secret, md5_cred, imappassword values and mailbox PINs are not shown', () => {
    const r = convert(
      {
        'pjsip.conf': '[a]\ntype=auth\nusername=a\npassword=p\\;w\n',
        'voicemail.conf': '[general]\nimappassword=imap-secret\n[default]\n100 => 4321,Name,,,bogus\n',
      },
      true,
    );
    const text = reportText(r);
    expect(text).toContain('pjsip.conf:4: password=<hidden>');
    expect(text).toContain('voicemail.conf:2: imappassword = <hidden>');
    expect(text).not.toMatch(/p;w|imap-secret|4321/);
    expect(JSON.stringify(reportJson(r))).not.toMatch(/p;w|imap-secret|4321/);
  });
});

describe('dialplan rows', () => {
  it('n counts from the last priority; same follows the last exten; bad lines are reported', () => {
    const r = convert({
      'extensions.conf': [
        '[ctx]',
        'same => n,NoOp()',
        'exten => 100,1,Answer',
        'exten => 100,5,Wait(1)',
        ' same => n,Hangup()',
        'exten => 200,x,NoOp()',
        'exten => 300,1(start),Set(A=1)',
        ' same => n,Goto(start)',
        '',
      ].join('\n'),
    });
    const rows = r.entries
      .filter((e) => e.family === 'extensions')
      .map((e) => `${attr(e, 'AstExtension')![0]},${attr(e, 'AstPriority')![0]},${attr(e, 'AstApplication')![0]}`);
    expect(rows).toEqual(['100,1,Answer', '100,5,Wait', '100,6,Hangup', '300,1,Set', '300,2,Goto']);
    expect(entry(r, 'cn=100-6@ctx,').dn).toBe('cn=100-6@ctx,ou=extensions,dc=example,dc=domain');
    expect(skipped(r)).toEqual([
      'extensions.conf:2 same => n,NoOp() | same => without an exten => before it',
      'extensions.conf:6 exten => 200,x,NoOp() | priority "x" is not a number, n, n(label) or hint',
      'extensions.conf:7 exten => 300,1(start),Set(A=1) | label (start) dropped: realtime rows have no labels, only priority 1',
    ]);
  });
});

describe('containers', () => {
  it('ou= parents below the suffix, parents first, once each; the base of every family the file defines', () => {
    const r = convert({ 'pjsip.conf': '[a]\ntype=aor\n[b]\ntype=aor\n[c]\ntype=endpoint\n' });
    expect(r.suffix).toBe('dc=example,dc=domain');
    const containers = r.entries.filter((e) => e.family === 'container').map((e) => e.dn);
    // Asterisk searches the bases it has no object in too (a noSuchObject is a WARNING each time).
    expect(containers).toEqual([
      'ou=pjsip,dc=example,dc=domain',
      'ou=config,dc=example,dc=domain',
      'ou=aors,ou=pjsip,dc=example,dc=domain',
      'ou=endpoints,ou=pjsip,dc=example,dc=domain',
      'ou=auths,ou=pjsip,dc=example,dc=domain',
      'ou=identify,ou=pjsip,dc=example,dc=domain',
      'ou=registrations,ou=pjsip,dc=example,dc=domain',
      'ou=domain-aliases,ou=pjsip,dc=example,dc=domain',
    ]);
  });
});
