// `astldap asterisk convert` and `astldap asterisk endpoint` (issue 20) against a real astldap
// started with the packaged seed: the office PBX of test/fixtures/asterisk-pbx is converted by
// the built CLI (dist/cli/main.js), loaded with --apply (and, separately, with ldapadd from
// the -o file), read back with ldapsearch; converting again changes nothing; a changed and a
// shrunk copy update and --prune; a syntax error names its file and line; endpoints are added,
// listed, shown, changed, given a new password and removed with one command each. The tests run
// in order against one server: each starts from what the ones before it left.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigFile } from '../../src/asterisk/config-parser.js';
import { CLI, startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { repoRoot, ROOT_DN, ROOT_PW, SUFFIX } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool, type LdifEntry } from '../helpers/tools.js';

const FIXTURE = path.join(repoRoot, 'test/fixtures/asterisk-pbx');
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const tmp = useTempDir('astldap-convert-');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function astldap(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let server: InProcessAstldap;
const conn = () => ['-H', server.url, '-D', ROOT_DN, '-w', ROOT_PW];

async function search(base: string, filter = '(objectClass=*)', scope = 'sub'): Promise<LdifEntry[]> {
  const r = await runTool('ldapsearch', [
    ...bindArgs(ROOT_DN, ROOT_PW),
    '-H',
    server.url,
    '-LLL',
    '-o',
    'ldif-wrap=no',
    '-s',
    scope,
    '-b',
    base,
    filter,
  ]);
  if (r.code === 32) return [];
  expect(r.code, r.stderr).toBe(0);
  return parseLdifEntries(r.stdout);
}
// The chan_sip PBX beside the PJSIP one in the same directory: a directory serves one pjsip.conf,
// so this copy has an (empty) pjsip.conf of its own and the PJSIP PBX's transport rows stay.
let sipCopy: string | undefined;
const sipDir = (): string => {
  if (!sipCopy) {
    sipCopy = path.join(tmp(), 'asterisk-sip');
    cpSync(path.join(repoRoot, 'test/fixtures/asterisk-sip'), sipCopy, { recursive: true });
    writeFileSync(path.join(sipCopy, 'pjsip.conf'), "; transports: the other PBX's\n");
  }
  return sipCopy;
};
const one = async (dn: string) => (await search(dn, '(objectClass=*)', 'base'))[0];
const allDns = async () => (await search(SUFFIX)).map((e) => e.dn.toLowerCase()).sort();

/** A copy of the fixture PBX to change. */
function copyFixture(name: string): string {
  const dir = path.join(tmp(), name);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  server = await startAstldap({ packagedSeed: true });
});
afterAll(async () => {
  await server?.stop();
});

describe('astldap asterisk convert', () => {
  it('writes LDIF and a report naming each line not converted; exit 3 says lines were left', async () => {
    const r = await astldap(['asterisk', 'convert', FIXTURE, '--verbose']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('dn: cn=1001,ou=endpoints,ou=pjsip,dc=example,dc=domain');
    expect(r.stdout).toContain('# endpoint 1001 (pjsip.d/phones.conf:2)');
    expect(r.stderr).toContain('pjsip.d/trunk.conf:12 endpoint provider -> cn=provider,ou=endpoints,ou=pjsip,dc=example,dc=domain');
    expect(r.stderr).toMatch(/not converted extensions\.conf:9: include => phones {2}\(realtime rows cannot express include =>/);
    expect(r.stderr).toMatch(/not converted extensions-phones\.conf:3: exten => 1001,hint,PJSIP\/1001 {2}\(pbx_realtime serves no hints/);
    expect(r.stderr).toMatch(/not converted extensions\.conf:20: .*label \(failed\) dropped/);
    expect(r.stderr).toMatch(/not converted extensions\.conf:25: .*caller-ID/);
    expect(r.stderr).toMatch(/not converted extensions\.conf:6: TRUNK = PJSIP\/provider {2}\(\[globals\]/);
    expect(r.stderr).toMatch(/not converted voicemail\.conf:2: format/);
    expect(r.stderr).toMatch(/\nexit 3: \d+ line\(s\) not converted \(listed above\)\n/);
    const json = await astldap(['asterisk', 'convert', FIXTURE, '--json']);
    expect(json.code).toBe(3);
    const report = JSON.parse(json.stdout) as Array<{
      file: string;
      entries: Array<{ dn: string; line: number }>;
      notConverted: Array<{ line: number; reason: string }>;
    }>;
    const ext = report.find((c) => c.file === 'extensions.conf')!;
    expect(ext.notConverted).toContainEqual(expect.objectContaining({ file: 'extensions.conf', line: 9, text: 'include => phones' }));
    expect(report.find((c) => c.file === 'pjsip.conf')!.entries).toContainEqual({
      dn: `cn=provider,ou=endpoints,ou=pjsip,${SUFFIX}`,
      family: 'ps_endpoints',
      label: 'endpoint provider',
      file: 'pjsip.d/trunk.conf',
      line: 12,
    });
    // Only the containers the seed lacks are in the LDIF.
    expect(r.stdout).toContain('dn: ou=pjsip,dc=example,dc=domain');
    expect(r.stdout).not.toContain('dn: ou=voicemail,dc=example,dc=domain');
  });

  it('-o FILE is 0600 and loads with ldapadd on top of the seed', async () => {
    const file = path.join(tmp(), 'pbx.ldif');
    const r = await astldap(['asterisk', 'convert', FIXTURE, '-o', file]);
    expect(r.code, r.stderr).toBe(3);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const other = await startAstldap({ packagedSeed: true });
    try {
      const add = await runTool('ldapadd', [...bindArgs(ROOT_DN, ROOT_PW), '-H', other.url, '-f', file]);
      expect(add.code, add.stderr).toBe(0);
    } finally {
      await other.stop();
    }
  });

  it('--apply loads it; the entries are what Asterisk needs', async () => {
    const r = await astldap(['asterisk', 'convert', FIXTURE, '--apply', ...conn()]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/applied: \d+ to add, 0 to modify, 0 to delete/);

    const ep = (await one(`cn=2001,ou=endpoints,ou=pjsip,${SUFFIX}`))!;
    expect(attrValues(ep, 'AstAccountAllowedCodec')).toEqual(['ulaw', 'alaw', 'h264,vp8']); // template + (!,tpl) + +=
    expect(attrValues(ep, 'AstAccountContext')).toEqual(['office']);
    const auth = (await one(`cn=1001,ou=auths,ou=pjsip,${SUFFIX}`))!;
    expect(attrValues(auth, 'AstPjsipAuthAuthType')).toEqual(['md5']);
    expect(attrValues(auth, 'AstPjsipAuthRealm')).toEqual(['office.example']);
    expect(attrValues(auth, 'AstPjsipAuthMd5Cred')).toEqual([md5('1001:office.example:ann-secret')]);
    expect(attrValues(auth, 'AstAccountSecret')).toEqual([]);
    const escaped = (await one(`cn=2001,ou=auths,ou=pjsip,${SUFFIX}`))!;
    expect(attrValues(escaped, 'AstPjsipAuthMd5Cred')).toEqual([md5('2001:office.example:vid;eo-secret')]);
    // The trunk's auth is an outbound_auth: its password stays.
    const trunk = (await one(`cn=provider-auth,ou=auths,ou=pjsip,${SUFFIX}`))!;
    expect(attrValues(trunk, 'AstPjsipAuthAuthType')).toEqual(['userpass']);
    expect(attrValues(trunk, 'AstAccountSecret')).toEqual(['trunk-secret']);
    const id = (await one(`cn=provider,ou=identify,ou=pjsip,${SUFFIX}`))!;
    expect(attrValues(id, 'AstPjsipIdentifyMatch')).toEqual(['192.0.2.10', '192.0.2.11,198.51.100.0/24']);
    expect(attrValues((await one(`cn=office,ou=moh,ou=config,${SUFFIX}`))!, 'AstMohDirectory')).toEqual(['moh/office']);
    const iax = (await one(`cn=2500,ou=sip,${SUFFIX}`))!;
    expect([attrValues(iax, 'AstAccountSecret'), attrValues(iax, 'AstAccountName')]).toEqual([['iax-desk-secret'], ['2500']]);
    const alias = (await one(`cn=pbx.office.example,ou=domain-aliases,ou=pjsip,${SUFFIX}`))!;
    expect(attrValues(alias, 'AstPjsipDomainAliasDomain')).toEqual(['office.example']);
    const reg = (await one(`cn=provider-reg,ou=registrations,ou=pjsip,${SUFFIX}`))!;
    expect(attrValues(reg, 'AstPjsipRegistrationOutboundAuth')).toEqual(['provider-auth']);
    // Transports and globals as static pjsip.conf rows.
    const rows = await search(`ou=config,${SUFFIX}`, '(&(AstConfigFilename=pjsip.conf)(AstConfigCategory=transport-tcp))');
    expect(
      rows
        .map((e) => [
          attrValues(e, 'AstConfigVariableMetric')[0],
          attrValues(e, 'AstConfigVariableName')[0],
          attrValues(e, 'AstConfigVariableValue')[0],
        ])
        .sort(),
    ).toEqual([
      ['1', 'type', 'transport'],
      ['2', 'protocol', 'tcp'],
      ['3', 'bind', '0.0.0.0:5060'],
    ]);
    const vm = (await one(`cn=1001@sales,ou=voicemail,${SUFFIX}`))!;
    expect([attrValues(vm, 'AstContext'), attrValues(vm, 'AstVoicemailTz')]).toEqual([['sales'], ['eastern']]);
    const member = (await one(`cn=sales-1002,ou=queues,${SUFFIX}`))!;
    expect(attrValues(member, 'AstQueueMemberStateInterface')).toEqual(['PJSIP/1002']);
    expect(attrValues(member, 'AstQueueMemberPenalty')).toEqual(['1']);
    const queue = (await one(`cn=sales,ou=queues,${SUFFIX}`))!;
    expect(attrValues(queue, 'AstQueueAnnounceFrequency')).toEqual(['30']); // announce-frequency
    expect(attrValues(queue, 'AstQueueStrategy')).toEqual(['ringall']); // from the template
    const dial = (await search(`ou=extensions,${SUFFIX}`, '(&(AstContext=outbound)(AstPriority=2))'))[0]!;
    expect(attrValues(dial, 'AstExtension')).toEqual(['_9NXXXXXX.']);
    expect(attrValues(dial, 'AstApplication')).toEqual(['Playback']);
  });

  it('converting again changes nothing and duplicates nothing (idempotent)', async () => {
    const before = await allDns();
    const dry = await astldap(['asterisk', 'convert', FIXTURE, '--apply', '--dry-run', ...conn()]);
    expect(dry.stderr).toMatch(/dry run: 0 to add, 0 to modify, 0 to delete, \d+ unchanged/);
    const r = await astldap(['asterisk', 'convert', FIXTURE, '--apply', ...conn()]);
    expect(r.stderr).toMatch(/applied: 0 to add, 0 to modify, 0 to delete/);
    expect(await allDns()).toEqual(before);
  });

  it('a changed PBX updates the same entries; --prune removes what the files dropped', async () => {
    const dir = copyFixture('changed');
    const phones = path.join(dir, 'pjsip.d/phones.conf');
    const text = readFileSync(phones, 'utf8')
      .replace('callerid="Ben Baker" <1002>', 'callerid="Ben Brown" <1002>')
      .replace(/\[1003\][\s\S]*?(?=\[2001\]\(endpoint-video\))/, '');
    writeFileSync(phones, text);
    const dry = await astldap(['asterisk', 'convert', dir, '--apply', '--prune', '--dry-run', ...conn()]);
    const deletes = [...dry.stdout.matchAll(/^dn: (.*)\nchangetype: delete$/gm)].map((m) => m[1]).sort();
    // 1003's three objects, and the seed's mailbox 1000 and dialplan rows: --prune keeps only
    // what the files define in a family they define.
    expect(deletes).toEqual(
      [
        `cn=1000,ou=voicemail,${SUFFIX}`,
        `cn=1000-1,ou=extensions,${SUFFIX}`,
        `cn=1000-2,ou=extensions,${SUFFIX}`,
        `cn=1003,ou=aors,ou=pjsip,${SUFFIX}`,
        `cn=1003,ou=auths,ou=pjsip,${SUFFIX}`,
        `cn=1003,ou=endpoints,ou=pjsip,${SUFFIX}`,
      ].sort(),
    );
    expect(dry.stdout).toMatch(
      /dn: cn=1002,ou=endpoints,ou=pjsip,dc=example,dc=domain\nchangetype: modify\nreplace: AstAccountCallerID\nAstAccountCallerID: "Ben Brown" <1002>\n-/,
    );
    expect(await one(`cn=1003,ou=endpoints,ou=pjsip,${SUFFIX}`)).toBeDefined(); // dry run wrote nothing
    const r = await astldap(['asterisk', 'convert', dir, '--apply', '--prune', ...conn()]);
    expect(r.stderr).toMatch(/applied: 0 to add, 1 to modify, 6 to delete/);
    expect(attrValues((await one(`cn=1002,ou=endpoints,ou=pjsip,${SUFFIX}`))!, 'AstAccountCallerID')).toEqual(['"Ben Brown" <1002>']);
    for (const ou of ['endpoints', 'auths', 'aors']) expect(await one(`cn=1003,ou=${ou},ou=pjsip,${SUFFIX}`)).toBeUndefined();
    // Back to the fixture: the three come back.
    const back = await astldap(['asterisk', 'convert', FIXTURE, '--apply', ...conn()]);
    expect(back.stderr).toMatch(/applied: 3 to add, 1 to modify, 0 to delete/);
  });

  it('--static-out writes what stays static as new 0600 files, never over one', async () => {
    const out = path.join(tmp(), 'static');
    const r = await astldap(['asterisk', 'convert', FIXTURE, '--dry-run', '--static-out', out]);
    expect(r.code, r.stderr).toBe(3);
    const ext = parseConfigFile(out, 'extensions.conf');
    const lines = (name: string) => ext.categories.find((c) => c.name === name)!.variables.map((v) => `${v.name} => ${v.value}`);
    expect(lines('office')).toEqual(['include => phones', 'include => outbound', 'switch => Realtime/office@extensions']);
    expect(lines('phones')).toEqual(['exten => 1001,hint,PJSIP/1001', 'switch => Realtime/phones@extensions']);
    expect(lines('globals')).toEqual(['TRUNK => PJSIP/provider']);
    expect(statSync(path.join(out, 'extensions.conf')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(out, 'queues.conf'), 'utf8')).toContain('[general]\npersistentmembers = yes\n');
    const again = await astldap(['asterisk', 'convert', FIXTURE, '--dry-run', '--static-out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists already/);
    const into = await astldap(['asterisk', 'convert', FIXTURE, '--dry-run', '--static-out', FIXTURE]);
    expect(into.code).toBe(1);
    expect(into.stderr).toMatch(/is the directory being converted/);
  });

  it('the --dry-run change records are LDIF that ldapmodify applies as --apply would', async () => {
    const dir = copyFixture('ldapmodify');
    const phones = path.join(dir, 'pjsip.d/phones.conf');
    writeFileSync(
      phones,
      readFileSync(phones, 'utf8')
        .replace('callerid="Ann Archer" <1001>\nmailboxes=1001@default', 'callerid="Ann A." <1001>')
        .concat('\n[1099](endpoint-base)\nauth=1099\naors=1099\n[1099](auth-base)\nusername=1099\npassword=x\n[1099](aor-base)\n'),
    );
    const dry = await astldap(['asterisk', 'convert', dir, '--apply', '--dry-run', ...conn()]);
    expect(dry.stderr).toMatch(/dry run: 3 to add, 1 to modify, 0 to delete/);
    expect(dry.stdout).toContain('delete: AstAccountMailbox\n-');
    const mod = await runTool('ldapmodify', [...bindArgs(ROOT_DN, ROOT_PW), '-H', server.url], { stdin: dry.stdout });
    expect(mod.code, mod.stderr).toBe(0);
    const after = await astldap(['asterisk', 'convert', dir, '--apply', ...conn()]);
    expect(after.stderr).toMatch(/applied: 0 to add, 0 to modify, 0 to delete/);
    expect((await astldap(['asterisk', 'endpoint', 'remove', '1099', ...conn()])).code).toBe(0);
    const back = await astldap(['asterisk', 'convert', FIXTURE, '--apply', ...conn()]);
    expect(back.stderr).toMatch(/applied: 0 to add, 1 to modify, 0 to delete/);
  });

  it('a syntax error names file and line, converts nothing of that file and exits 1', async () => {
    const dir = copyFixture('broken');
    writeFileSync(path.join(dir, 'queues.conf'), '[sales]\nstrategy=ringall\nthis line has no equals sign\n');
    const r = await astldap(['asterisk', 'convert', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'queues.conf: NOT CONVERTED (nothing from this file): queues.conf:3: no "=" in "this line has no equals sign"',
    );
    expect(r.stdout).not.toContain('ou=queues');
    expect(r.stdout).toContain('dn: cn=1001,ou=endpoints,ou=pjsip,dc=example,dc=domain');
  });

  it('--res-ldap: a site mapping renames attributes; an unmapped option is reported', async () => {
    const custom = path.join(tmp(), 'res_ldap.conf');
    writeFileSync(
      custom,
      readFileSync(path.join(repoRoot, 'data/asterisk/res_ldap.conf'), 'utf8')
        .replace(/^callerid=AstAccountCallerID$/gm, 'callerid=description')
        .replace(/^timers=.*$/m, ''),
    );
    const dir = copyFixture('mapping');
    writeFileSync(path.join(dir, 'pjsip.d/extra.conf'), '[3001]\ntype=endpoint\ntimers=no\ncallerid=Lobby <3001>\n');
    const r = await astldap(['asterisk', 'convert', dir, '--res-ldap', custom]);
    expect(r.stdout).toMatch(
      /dn: cn=3001,ou=endpoints,ou=pjsip,dc=example,dc=domain\nobjectClass: AstldapPjsipEndpoint\ncn: 3001\ndescription: Lobby <3001>\n/,
    );
    expect(r.stderr).toMatch(/not converted pjsip\.d\/extra\.conf:3: timers=no {2}\(no attribute for "timers" in \[ps_endpoints\]/);
  });

  it('refuses to apply with a wrong password, and reads -y FILE', async () => {
    const bad = await astldap(['asterisk', 'convert', FIXTURE, '--apply', '-H', server.url, '-D', ROOT_DN, '-w', 'wrong']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/astldap asterisk convert: .*\(LDAP result 49 invalidCredentials\)/);
    const pwFile = path.join(tmp(), 'pw');
    writeFileSync(pwFile, ROOT_PW, { mode: 0o600 });
    const ok = await astldap(['asterisk', 'convert', FIXTURE, '--apply', '--dry-run', '-H', server.url, '-D', ROOT_DN, '-y', pwFile]);
    expect(ok.stderr).toMatch(/dry run: 0 to add/);
    rmSync(pwFile);
  });

  it('a chan_sip sip.conf converts to PJSIP objects the directory accepts', async () => {
    const r = await astldap(['asterisk', 'convert', sipDir(), '--chan-sip', '--apply', ...conn()]);
    expect(r.code, r.stderr).toBe(3); // bindport (pjsip.conf has the transports) and videosupport are reported
    expect(r.stderr).toMatch(/applied: \d+ to add, 0 to modify, 0 to delete/);
    const auth = (await one(`cn=3001,ou=auths,ou=pjsip,${SUFFIX}`))!;
    expect(attrValues(auth, 'AstPjsipAuthMd5Cred')).toEqual([md5('3001:old.example:s3001')]);
    expect(
      attrValues((await one(`cn=reg_sip.carrier.example,ou=registrations,ou=pjsip,${SUFFIX}`))!, 'AstPjsipRegistrationContactUser'),
    ).toEqual(['5550199']);
  });

  it('what Asterisk writes back (PIN, paused, registration state) survives another run', async () => {
    const changes = [
      `dn: cn=1001,ou=voicemail,${SUFFIX}\nchangetype: modify\nreplace: AstVoicemailPassword\nAstVoicemailPassword: 9999\n`,
      `dn: cn=sales-1001,ou=queues,${SUFFIX}\nchangetype: modify\nreplace: AstQueueMemberPaused\nAstQueueMemberPaused: 1\n`,
      `dn: cn=3001,ou=sip,${SUFFIX}\nchangetype: modify\nreplace: AstAccountIPAddress\nAstAccountIPAddress: 192.0.2.9\n-\nreplace: AstAccountExpirationTimestamp\nAstAccountExpirationTimestamp: 1900000000\n`,
    ].join('\n');
    const mod = await runTool('ldapmodify', [...bindArgs(ROOT_DN, ROOT_PW), '-H', server.url], { stdin: changes });
    expect(mod.code, mod.stderr).toBe(0);
    const pbx = await astldap(['asterisk', 'convert', FIXTURE, '--apply', ...conn()]);
    expect(pbx.stderr).toMatch(/applied: 0 to add, 0 to modify, 0 to delete/);
    const sip = await astldap(['asterisk', 'convert', sipDir(), '--chan-sip', '--apply', ...conn()]);
    expect(sip.stderr).toMatch(/applied: 0 to add, 0 to modify, 0 to delete/);
    expect(attrValues((await one(`cn=1001,ou=voicemail,${SUFFIX}`))!, 'AstVoicemailPassword')).toEqual(['9999']);
    expect(attrValues((await one(`cn=sales-1001,ou=queues,${SUFFIX}`))!, 'AstQueueMemberPaused')).toEqual(['1']);
    expect(attrValues((await one(`cn=3001,ou=sip,${SUFFIX}`))!, 'AstAccountIPAddress')).toEqual(['192.0.2.9']);
  });

  it('an unknown option is a usage error (exit 2)', async () => {
    const r = await astldap(['asterisk', 'convert', FIXTURE, '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--frobnicate'/);
  });
});

describe('astldap asterisk endpoint', () => {
  it('add, list, show, passwd and remove, each one command', async () => {
    const add = await astldap([
      'asterisk',
      'endpoint',
      'add',
      '4001',
      '--password',
      'desk-secret',
      '--context',
      'office',
      '--callerid',
      '"Desk" <4001>',
      ...conn(),
    ]);
    expect(add.code, add.stderr).toBe(0);
    const auth = (await one(`cn=4001,ou=auths,ou=pjsip,${SUFFIX}`))!;
    // The realm is pjsip.conf's default_realm, as the converted static rows say.
    expect(attrValues(auth, 'AstPjsipAuthMd5Cred')).toEqual([md5('4001:office.example:desk-secret')]);
    const ep = (await one(`cn=4001,ou=endpoints,ou=pjsip,${SUFFIX}`))!;
    expect([attrValues(ep, 'AstPjsipEndpointAors'), attrValues(ep, 'AstPjsipEndpointAuth'), attrValues(ep, 'AstAccountContext')]).toEqual([
      ['4001'],
      ['4001'],
      ['office'],
    ]);
    expect(attrValues((await one(`cn=4001,ou=aors,ou=pjsip,${SUFFIX}`))!, 'AstPjsipAorMaxContacts')).toEqual(['1']);

    const again = await astldap(['asterisk', 'endpoint', 'add', '4001', '--password', 'x', ...conn()]);
    expect(again.code).toBe(5);

    const list = await astldap(['asterisk', 'endpoint', 'list', '--json', ...conn()]);
    expect(list.code, list.stderr).toBe(0);
    const names = (JSON.parse(list.stdout) as Array<{ name: string; state: string }>).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['1001', '1002', '2001', '4001', 'provider']));

    // A contact as Asterisk would write it back (id "aor;@hash"): 1001 shows as registered.
    const contact = `dn: cn=1001\\;@0123abcd,ou=contacts,ou=pjsip,${SUFFIX}\nobjectClass: AstldapPjsipContact\ncn: 1001;@0123abcd\nAstPjsipContactUri: sip:1001@192.0.2.77:5060\nAstPjsipContactEndpoint: 1001\n`;
    const containers = `dn: ou=contacts,ou=pjsip,${SUFFIX}\nobjectClass: organizationalUnit\nou: contacts\n\n`;
    const added = await runTool('ldapadd', [...bindArgs(ROOT_DN, ROOT_PW), '-H', server.url], { stdin: containers + contact });
    expect(added.code, added.stderr).toBe(0);
    const states = JSON.parse((await astldap(['asterisk', 'endpoint', 'list', '--json', ...conn()])).stdout) as Array<{
      name: string;
      state: string;
      contacts: string[];
    }>;
    expect(states.find((e) => e.name === '1001')).toMatchObject({ state: 'registered', contacts: ['sip:1001@192.0.2.77:5060'] });
    expect(states.find((e) => e.name === '1002')).toMatchObject({ state: 'unregistered', contacts: [] });

    const show = await astldap(['asterisk', 'endpoint', 'show', '4001', '--json', ...conn()]);
    expect(JSON.parse(show.stdout)).toMatchObject({
      name: '4001',
      context: 'office',
      authType: 'md5',
      realm: 'office.example',
      state: 'unregistered',
    });
    expect(show.stdout).not.toContain(md5('4001:office.example:desk-secret'));

    const set = await astldap([
      'asterisk',
      'endpoint',
      'set',
      '4001',
      '--codecs',
      'g722',
      '--callerid',
      '',
      '--max-contacts',
      '3',
      ...conn(),
    ]);
    expect(set.code, set.stderr).toBe(0);
    const changed = (await one(`cn=4001,ou=endpoints,ou=pjsip,${SUFFIX}`))!;
    expect([attrValues(changed, 'AstAccountAllowedCodec'), attrValues(changed, 'AstAccountCallerID')]).toEqual([['g722'], []]);
    expect(attrValues((await one(`cn=4001,ou=aors,ou=pjsip,${SUFFIX}`))!, 'AstPjsipAorMaxContacts')).toEqual(['3']);
    expect((await astldap(['asterisk', 'endpoint', 'set', '4001', ...conn()])).code).toBe(2);

    const pw = await astldap(['asterisk', 'endpoint', 'passwd', '4001', '--generate', ...conn()]);
    expect(pw.code, pw.stderr).toBe(0);
    const generated = /new password for 4001: (\S+)/.exec(pw.stdout)![1]!;
    expect(attrValues((await one(`cn=4001,ou=auths,ou=pjsip,${SUFFIX}`))!, 'AstPjsipAuthMd5Cred')).toEqual([
      md5(`4001:office.example:${generated}`),
    ]);

    const rm = await astldap(['asterisk', 'endpoint', 'remove', '4001', ...conn()]);
    expect(rm.code, rm.stderr).toBe(0);
    for (const ou of ['endpoints', 'auths', 'aors']) expect(await one(`cn=4001,ou=${ou},ou=pjsip,${SUFFIX}`)).toBeUndefined();
    const gone = await astldap(['asterisk', 'endpoint', 'show', '4001', ...conn()]);
    expect(gone.code).toBe(4);
  });
});

describe('astldap asterisk endpoint add --template', () => {
  it('copies the template endpoint and its aor, but not names, caller ID or mailboxes', async () => {
    const r = await astldap(['asterisk', 'endpoint', 'add', '4002', '--template', '2001', '--password', 'p', ...conn()]);
    expect(r.code, r.stderr).toBe(0);
    const ep = (await one(`cn=4002,ou=endpoints,ou=pjsip,${SUFFIX}`))!;
    expect(attrValues(ep, 'AstAccountAllowedCodec')).toEqual(['ulaw', 'alaw', 'h264,vp8']);
    expect(attrValues(ep, 'AstAccountContext')).toEqual(['office']);
    expect(attrValues(ep, 'AstAccountTransport')).toEqual(['transport-udp']);
    expect([attrValues(ep, 'AstPjsipEndpointAors'), attrValues(ep, 'AstPjsipEndpointAuth'), attrValues(ep, 'AstAccountCallerID')]).toEqual([
      ['4002'],
      ['4002'],
      [],
    ]);
    expect(attrValues((await one(`cn=4002,ou=aors,ou=pjsip,${SUFFIX}`))!, 'AstPjsipAorMaxContacts')).toEqual(['2']);
    const withCodecs = await astldap([
      'asterisk',
      'endpoint',
      'add',
      '4003',
      '--template',
      '2001',
      '--codecs',
      'g722',
      '--password',
      'p',
      ...conn(),
    ]);
    expect(withCodecs.code, withCodecs.stderr).toBe(0);
    const ep3 = (await one(`cn=4003,ou=endpoints,ou=pjsip,${SUFFIX}`))!;
    expect([attrValues(ep3, 'AstAccountDisallowedCodec'), attrValues(ep3, 'AstAccountAllowedCodec')]).toEqual([['all'], ['g722']]);
    expect((await astldap(['asterisk', 'endpoint', 'add', '4004', '--template', 'nosuch', '--password', 'p', ...conn()])).code).toBe(4);
    for (const name of ['4002', '4003']) expect((await astldap(['asterisk', 'endpoint', 'remove', name, ...conn()])).code).toBe(0);
  });
});

describe('astldap asterisk mailbox and queue', () => {
  it('mailbox add/remove and queue add/member add/member remove/remove, laid out as convert does', async () => {
    const box = await astldap(['asterisk', 'mailbox', 'add', '5001@sales', '--password', '9999', '--fullname', 'Eve Example', ...conn()]);
    expect(box.code, box.stderr).toBe(0);
    const vm = (await one(`cn=5001@sales,ou=voicemail,${SUFFIX}`))!;
    expect([attrValues(vm, 'AstContext'), attrValues(vm, 'AstVoicemailMailbox'), attrValues(vm, 'AstVoicemailPassword')]).toEqual([
      ['sales'],
      ['5001'],
      ['9999'],
    ]);
    expect((await astldap(['asterisk', 'mailbox', 'add', '5001@sales', '--password', '1', ...conn()])).code).toBe(5);

    expect((await astldap(['asterisk', 'queue', 'add', 'billing', '--strategy', 'leastrecent', ...conn()])).code).toBe(0);
    const m = await astldap(['asterisk', 'queue', 'member', 'add', 'billing', 'PJSIP/1001', '--penalty', '2', ...conn()]);
    expect(m.code, m.stderr).toBe(0);
    const member = (await one(`cn=billing-1001,ou=queues,${SUFFIX}`))!;
    expect([attrValues(member, 'AstQueueMemberQueueName'), attrValues(member, 'AstQueueMemberPenalty')]).toEqual([['billing'], ['2']]);
    expect((await astldap(['asterisk', 'queue', 'member', 'add', 'nosuch', 'PJSIP/1', ...conn()])).code).toBe(4);
    expect((await astldap(['asterisk', 'queue', 'member', 'remove', 'billing', 'PJSIP/1001', ...conn()])).code).toBe(0);
    expect(await one(`cn=billing-1001,ou=queues,${SUFFIX}`)).toBeUndefined();
    await astldap(['asterisk', 'queue', 'member', 'add', 'billing', 'PJSIP/1002', ...conn()]);
    const rq = await astldap(['asterisk', 'queue', 'remove', 'billing', ...conn()]);
    expect(rq.stdout).toContain(`removed cn=billing-1002,ou=queues,${SUFFIX}, cn=billing,ou=queues,${SUFFIX}`);

    expect((await astldap(['asterisk', 'mailbox', 'remove', '5001@sales', ...conn()])).code).toBe(0);
    expect((await astldap(['asterisk', 'mailbox', 'remove', '5001@sales', ...conn()])).code).toBe(4);
    expect((await astldap(['asterisk', 'queue', 'frob', ...conn()])).code).toBe(2);

    const boxes = await astldap(['asterisk', 'mailbox', 'list', '--json', ...conn()]);
    expect(boxes.code, boxes.stderr).toBe(0);
    const listed = JSON.parse(boxes.stdout) as Array<{ mailbox: string; context: string }>;
    expect(listed.map((b) => `${b.mailbox}@${b.context}`)).toEqual(expect.arrayContaining(['1001@default', '1001@sales', '1106@default']));
    expect(boxes.stdout).not.toMatch(/4242|password/i);
    const queues = JSON.parse((await astldap(['asterisk', 'queue', 'list', '--json', ...conn()])).stdout) as Array<{
      name: string;
      members: Array<{ interface: string }>;
    }>;
    expect(
      queues
        .find((q) => q.name === 'sales')!
        .members.map((m) => m.interface)
        .sort(),
    ).toEqual(['PJSIP/1001', 'PJSIP/1002']);
    // [support](queue-base): app_queue keeps the template's strategy (ringall), the first in the category.
    const text = await astldap(['asterisk', 'queue', 'list', ...conn()]);
    expect(text.stdout).toMatch(/^support +ringall +PJSIP\/1003$/m);
  });
});

describe('-Y EXTERNAL over ldapi://', () => {
  it('binds as the socket owner (the administrator) for convert --apply and endpoint commands', async () => {
    const { startServer } = await import('../../src/index.js');
    const socket = path.join(tmp(), 'ldapi');
    const ldapi = `ldapi://${encodeURIComponent(socket)}`;
    const s = await startServer({ configFile: path.join(repoRoot, 'config.yaml'), memory: true, listen: [ldapi], logger: false });
    try {
      const r = await astldap(['asterisk', 'convert', FIXTURE, '--apply', '-H', ldapi, '-Y', 'EXTERNAL']);
      expect(r.stderr).toMatch(/applied: \d+ to add, 0 to modify/);
      const list = await astldap(['asterisk', 'endpoint', 'list', '-H', ldapi, '-Y', 'EXTERNAL']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(/^1001 +office +unregistered +0 contact\(s\)$/m);
    } finally {
      await s.close();
    }
  });
});
