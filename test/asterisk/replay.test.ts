// Asterisk realtime replay ("Asterisk realtime" issue, proof section).
//
// Every case replays, through libldap's own clients (ldapsearch / ldapmodify from ldap-utils),
// exactly the requests res_config_ldap sends for one Asterisk callback (realtime,
// realtime_multi, update, update2, static config load): search base, subtree scope, the filter
// the driver builds (§4.2, both escaping modes), no attribute list; for writes the modification
// list of §6.4. driver.ts turns the LDIF the server returns into what Asterisk reads (§5, §6).
// The same replay runs against astldap (in-process, packaged seed + data/asterisk/sample.ldif +
// EXTRA below) and against a private slapd loaded with the stock schema, the project's
// extension schema and the same data. For every case:
//   - hand-written expectations on the key Asterisk-side variables (checked on both servers);
//   - astldap's read-back must equal slapd's. Entry order of multi-entry results is not
//     compared (the contract lets it be server order; app_queue/sorcery do not sort, the core's
//     single-row merge concatenates): entries/categories are compared as multisets. Within an
//     entry, values of one column are compared in order (codec lists keep order); the order of
//     different columns is not compared (consumers look columns up by name). Static config is
//     compared in the driver's own sorted order (§6.5).
//
// Deliberate differences, astldap-only cases (`astldapOnly` below): the test slapd lets the
// Asterisk identity write everything; astldap's default access rules (src/config/config.ts,
// ASTERISK_WRITABLE) only the registration attributes, AstVoicemailPassword and the queue
// member state (paused, reason_paused, ringinuse). A driver write outside them (here: a SIP
// `context` change) gets 50 from astldap and 0 from slapd; slapd is restored as admin after it.
//
// Cases run in order: reads first on the data as loaded, then writes, each write followed by the
// driver's read-back; later cases only read what earlier writes left in a known state.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { repoRoot, ROOT_DN, ROOT_PW, SUFFIX } from '../helpers/slapd.js';
import { normalizeDn, parseLdifEntries, runTool, type ToolResult } from '../helpers/tools.js';
import {
  changeRecord,
  Driver,
  loadDriverConfig,
  singleRow,
  value,
  values,
  type Backend,
  type DriverConfig,
  type Escaping,
  type Modification,
  type MultiResult,
  type RealtimeResult,
  type StaticResult,
  type UpdateResult,
  type Var,
} from './driver.js';
import { ASTERISK_DN, startAsteriskSlapd, type AsteriskSlapd } from './slapd-asterisk.js';

const B = SUFFIX;
const SIP = `ou=sip,${B}`;
const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');
const SEED = read('data/seed.ldif');
const SAMPLE = read('data/asterisk/sample.ldif');

// Test-only configuration on top of the shipped files: the stock-sample tables the contract
// discusses (§2.6) and a table without additionalFilter (§4.3 single-field AND).
const EXTRA_RES_LDAP = `
[stockextensions]          ; master's sample [extensions]: attributes that do not exist
additionalFilter=(objectClass=AsteriskExtension)
context=AstExtensionContext
exten=AstExtensionExten
priority=AstExtensionPriority
[accounts]                 ; master's sample [accounts]: class AstAccount does not exist
additionalFilter=(objectClass=AstAccount)
[sipaccounts]              ; like [accounts] with a real class: name is left unmapped
additionalFilter=(objectClass=AsteriskAccount)
[bare]                     ; no additionalFilter at all
name=cn
[CONFIG]                   ; any-case "config" is a static table; the stock (objectClass=AstConfig)
additionalFilter=(objectClass=AstConfig)
filename=AstConfigFilename
category=AstConfigCategory
cat_metric=AstConfigCategoryMetric
var_metric=AstConfigVariableMetric
variable_name=AstConfigVariableName
variable_value=AstConfigVariableValue
commented=AstConfigCommented
`;
const EXTRA_EXTCONFIG = `
[settings]
iax.conf        => ldap,"ou=config,dc=example,dc=domain",config
sip.conf        => ldap,"ou=config|dc=example|dc=domain",CONFIG
stockextensions => ldap,"ou=extensions,dc=example,dc=domain",stockextensions
accounts        => ldap,"ou=sip,dc=example,dc=domain",accounts
sipaccounts     => ldap,"ou=sip,dc=example,dc=domain",sipaccounts
bare            => ldap,"ou=sip,dc=example,dc=domain",bare
`;
const CFG: DriverConfig = loadDriverConfig(
  read('data/asterisk/res_ldap.conf') + EXTRA_RES_LDAP,
  read('data/asterisk/extconfig.conf') + EXTRA_EXTCONFIG,
);

// ---------------------------------------------------------------------------------------------
// Extra data, loaded into both servers after seed.ldif and sample.ldif.

const ldif = (...lines: string[]) => lines.join('\n') + '\n';
const sipPeer = (rdnValue: string, cn: string, extra: string[]) =>
  ldif(
    `dn: cn=${rdnValue},${SIP}`,
    'objectClass: top',
    'objectClass: AsteriskAccount',
    'objectClass: AsteriskExtension',
    'objectClass: AsteriskSIPUser',
    `cn: ${cn}`,
    ...extra,
  );
const configRow = (cn: string, attrs: Record<string, string | undefined>) =>
  ldif(
    `dn: cn=${cn},ou=config,${B}`,
    'objectClass: AstldapObject',
    'objectClass: AsteriskConfig',
    'objectClass: AstldapConfig',
    `cn: ${cn}`,
    ...Object.entries(attrs)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}: ${v}`),
  );
const iaxRow = (
  cn: string,
  cat: string,
  catMetric: string,
  varMetric: string | undefined,
  name: string,
  val: string,
  commented: string | undefined,
) =>
  configRow(cn, {
    AstConfigFilename: 'iax.conf',
    AstConfigCategory: cat,
    AstConfigCategoryMetric: catMetric,
    AstConfigVariableMetric: varMetric,
    AstConfigVariableName: name,
    AstConfigVariableValue: val,
    AstConfigCommented: commented,
  });

const BULK = 600;
const EXTRA = [
  // escaping (§4.3): the value a*b(c)\d, the value a*b, and alpha-b that the pre-fix `(cn=a*b)` also hits
  sipPeer('a*b(c)\\5Cd', 'a*b(c)\\d', ['AstAccountName: escape target', 'AstAccountHost: dynamic']),
  sipPeer('a*b', 'a*b', ['AstAccountName: star', 'AstAccountHost: dynamic']),
  sipPeer('alpha-b', 'alpha-b', ['AstAccountName: alpha', 'AstAccountHost: dynamic']),
  // a static-host trunk (host+port lookup, insecure LIKE %port%)
  sipPeer('trunk1', 'trunk1', [
    'AstAccountName: trunk one',
    'AstAccountType: peer',
    'AstAccountHost: 192.0.2.10',
    'AstAccountPort: 5060',
    'AstAccountInsecure: port,invite',
    'AstAccountContext: from-trunk',
  ]),
  // a dynamic peer currently registered from 192.0.2.30:5062 (the IPAddress fallback)
  sipPeer('roamer', 'roamer', [
    'AstAccountName: roamer',
    'AstAccountHost: dynamic',
    'AstAccountIPAddress: 192.0.2.30',
    'AstAccountPort: 5062',
    'AstAccountContext: default',
  ]),
  // md5secret: only one {md5} prefix (any case) is stripped, and md5secret is never split on `;`
  sipPeer('md5test', 'md5test', [
    'AstAccountName: md5 test',
    'AstAccountHost: dynamic',
    'AstAccountRealmedPassword: {MD5}{md5}0123;4567',
    'AstAccountAllowedCodec: g722;ulaw;alaw',
    'AstAccountSecret: plain;text',
  ]),
  // objectClass subclass matching: AsteriskSIPUser without its superclass AsteriskExtension
  ldif(
    `dn: cn=sub-1,ou=extensions,${B}`,
    'objectClass: AsteriskDialplan',
    'objectClass: AsteriskSIPUser',
    'cn: sub-1',
    'AstContext: subclass',
    'AstExtension: 777',
    'AstPriority: 1',
    'AstApplication: Playback',
    'AstApplicationData: tt-monkeys',
  ),
  // iax.conf as static config: case-insensitive commented=FALSE, TRUE rows and rows without
  // commented excluded, a row without var_metric skipped, atoi metrics (text → 0, 10 after 9),
  // byte-wise category order, one category name with two metrics, `;` splitting into rows
  iaxRow('iax.conf-general-1', 'general', '1', '1', 'bindport', '4569', 'false'),
  iaxRow('iax.conf-general-2', 'general', '1', '3', 'allow', 'ulaw;alaw;gsm', 'FALSE'),
  iaxRow('iax.conf-general-3', 'general', '1', '2', 'disallow', 'all', 'False'),
  iaxRow('iax.conf-general-4', 'general', '1', '4', 'bandwidth', 'low', 'TRUE'),
  iaxRow('iax.conf-general-5', 'general', '1', '5', 'jitterbuffer', 'no', undefined),
  iaxRow('iax.conf-general-6', 'general', '1', '10', 'maxjitterbuffer', '1000', 'FALSE'),
  iaxRow('iax.conf-general-7', 'general', '1', '9', 'mailboxdetail', 'yes', 'FALSE'),
  iaxRow('iax.conf-general-8', 'general', '1', undefined, 'nometric', 'skipped', 'FALSE'),
  iaxRow('iax.conf-2000-1', '2000', 'x', '1', 'type', 'friend', 'FALSE'),
  iaxRow('iax.conf-2000-2', '2000', '3', '1', 'host', 'dynamic', 'FALSE'),
  iaxRow('iax.conf-Alpha-1', 'Alpha', '3', '1', 'type', 'user', 'FALSE'),
  iaxRow('iax.conf-lower-alpha-1', 'alpha', '3', '1', 'type', 'peer', 'FALSE'),
  // more than 500 entries for one realtime_multi scan
  ...Array.from({ length: BULK }, (_, i) =>
    ldif(
      `dn: cn=bulk-${5000 + i}-1,ou=extensions,${B}`,
      'objectClass: AsteriskDialplan',
      'objectClass: AsteriskExtension',
      `cn: bulk-${5000 + i}-1`,
      'AstContext: bulk',
      `AstExtension: ${5000 + i}`,
      'AstPriority: 1',
      'AstApplication: NoOp',
      `AstApplicationData: bulk ${i}`,
    ),
  ),
].join('\n');

// ---------------------------------------------------------------------------------------------
// Backends: the real libldap clients, bound as the Asterisk identity.

function toolCode(r: ToolResult): number {
  if (r.code === 0) return 0;
  const m = /\((-?\d+)\)\s*$/m.exec(r.stderr) ?? /\((-?\d+)\)/.exec(r.stderr);
  return m ? Number(m[1]) : r.code;
}

function backend(url: string, dn = ASTERISK_DN, pw = 'asterisk'): Backend {
  return {
    async search(base, filter) {
      const r = await runTool('ldapsearch', [
        '-x',
        '-H',
        url,
        '-D',
        dn,
        '-w',
        pw,
        '-LLL',
        '-o',
        'ldif-wrap=no',
        '-s',
        'sub',
        '-b',
        base,
        filter,
      ]);
      const code = toolCode(r);
      return { code, entries: code === 0 ? parseLdifEntries(r.stdout) : [] };
    },
    async modify(target, changes) {
      const r = await runTool('ldapmodify', ['-x', '-H', url, '-D', dn, '-w', pw], { stdin: changeRecord(target, changes) });
      return toolCode(r);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Canonical forms for the astldap = slapd comparison

const json = (x: unknown) => JSON.stringify(x);
const sortJson = <T>(xs: T[]): T[] => [...xs].sort((a, b) => (json(a) < json(b) ? -1 : json(a) > json(b) ? 1 : 0));
/** Columns by name (sorted), values of one column in order. */
function group(vars: readonly Var[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [n, v] of vars) (out[n] ??= []).push(v);
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, out[k]!]),
  );
}
function canon(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(canon);
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    if ('found' in o) return o; // static config: already in the driver's order
    if ('entries' in o) return { code: o.code, entries: sortJson((o as unknown as RealtimeResult).entries.map(group)) };
    if ('categories' in o) {
      const m = o as unknown as MultiResult;
      return { code: m.code, categories: sortJson(m.categories.map((c) => ({ name: c.name, vars: group(c.vars) }))) };
    }
    if ('modifies' in o) {
      const u = o as unknown as UpdateResult;
      return { code: u.code, matched: u.matched, modifies: sortJson(u.modifies.map((m) => ({ ...m, dn: normalizeDn(m.dn) }))) };
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, canon(v)]));
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// Cases

type SideName = 'astldap' | 'slapd';
interface Ctx {
  side: SideName;
  url: string;
  /** A driver with the given escaping mode (default: fixed), logging its requests. */
  driver(escaping?: Escaping): Driver;
}
interface Case {
  name: string;
  run(ctx: Ctx): Promise<Record<string, unknown>>;
  /** Expectations, checked on both servers' outputs (and the drivers' request logs). */
  check(out: Record<string, any>, drivers: Driver[], side: SideName): void;
  /** Why astldap's and slapd's outputs are not compared (a deliberate difference). */
  astldapOnly?: string;
  /** Run on slapd after the case (as admin), to bring it back in line with astldap. */
  restoreSlapd?: string;
}

const filterOf = (ds: Driver[], i = 0) =>
  (ds.flatMap((d) => d.requests).filter((r) => r.kind === 'search')[i] as { filter: string }).filter;
const modifiesOf = (ds: Driver[]) =>
  ds.flatMap((d) => d.requests).filter((r) => r.kind === 'modify') as { dn: string; changes: Modification[]; code: number }[];
const catNames = (m: MultiResult) => m.categories.map((c) => c.name).sort();
const rep = (attr: string, v: string): Modification => ({ op: 'replace', attr, value: v });
const del = (attr: string): Modification => ({ op: 'delete', attr });

/** One driver per run; the request log of all drivers used by the case goes to check(). */
function tracked(ctx: Ctx, list: Driver[]) {
  return (escaping?: Escaping) => {
    const d = ctx.driver(escaping);
    list.push(d);
    return d;
  };
}

const cases: Case[] = [
  // ------------------------------------------------------------------ chan_sip (§8.3 ex. 2, 3)
  {
    name: '§8.3-2 SIP peer by name and host=dynamic (realtime)',
    run: async ({ driver }) => ({ r: await driver().realtime('sippeers', 'name', '1000', 'host', 'dynamic') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskSIPUser)(cn=1000)(AstAccountHost=dynamic))');
      const row = singleRow(out.r);
      expect(value(row, 'name')).toBe('1000');
      expect(value(row, 'host')).toBe('dynamic');
      expect(value(row, 'context')).toBe('default');
      expect(value(row, 'callerid')).toBe('"Alice" <1000>');
      expect(value(row, 'md5secret')).toBe('31524b771a89e5e99501325f29e66599');
      expect(value(row, 'AstAccountName')).toBe('alice phone'); // unmapped: the server's name
      expect(
        values(row, 'objectClass')
          .map((v) => v.toLowerCase())
          .sort(),
      ).toEqual(['asteriskaccount', 'asteriskextension', 'asterisksipuser', 'top']);
    },
  },
  {
    name: '§8.3-2 name-only lookup; `;` split of allow; md5secret {md5} stripped',
    run: async ({ driver }) => ({ r: await driver().realtime('sippeers', 'name', '1002') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskSIPUser)(cn=1002))');
      const row = singleRow(out.r);
      expect(values(row, 'allow')).toEqual(['ulaw', 'alaw']);
      expect(values(row, 'disallow')).toEqual(['all']);
      expect(value(row, 'md5secret')).toBe('9a830181f0abe2d856cb84a376d0137f');
      expect(value(row, 'nat')).toBe('force_rport,comedia');
    },
  },
  {
    name: '§8.3-2 chan_sip retry with the source address in place of dynamic',
    run: async ({ driver }) => {
      const d = driver();
      return {
        first: await d.realtime('sippeers', 'name', 'trunk1', 'host', 'dynamic'),
        retry: await d.realtime('sippeers', 'name', 'trunk1', 'host', '192.0.2.10'),
      };
    },
    check(out) {
      expect(singleRow(out.first)).toBeNull();
      expect(value(singleRow(out.retry), 'name')).toBe('trunk1');
    },
  },
  {
    name: '§8.3-3 SIP peer by host and port',
    run: async ({ driver }) => ({ r: await driver().realtime('sippeers', 'host', '192.0.2.10', 'port', '5060') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskSIPUser)(AstAccountHost=192.0.2.10)(AstAccountPort=5060))');
      const row = singleRow(out.r);
      expect(value(row, 'name')).toBe('trunk1');
      expect(value(row, 'type')).toBe('peer');
      expect(value(row, 'insecure')).toBe('port,invite');
    },
  },
  {
    name: '§8.3-3 host+port misses, the IPAddress fallback finds the registered peer',
    run: async ({ driver }) => {
      const d = driver();
      return {
        byHost: await d.realtime('sippeers', 'host', '192.0.2.30', 'port', '5062'),
        byIp: await d.realtime('sippeers', 'ipaddr', '192.0.2.30', 'port', '5062'),
      };
    },
    check(out, ds) {
      expect(singleRow(out.byHost)).toBeNull();
      expect(out.byHost.code).toBe(0);
      expect(filterOf(ds, 1)).toBe('(&(objectClass=AsteriskSIPUser)(AstAccountIPAddress=192.0.2.30)(AstAccountPort=5062))');
      expect(value(singleRow(out.byIp), 'name')).toBe('roamer');
      expect(value(singleRow(out.byIp), 'ipaddr')).toBe('192.0.2.30');
    },
  },
  {
    name: 'md5secret: one {md5} prefix stripped, never split; other columns split on `;`',
    run: async ({ driver }) => ({ r: await driver().realtime('sippeers', 'name', 'md5test') }),
    check(out) {
      const row = singleRow(out.r);
      expect(values(row, 'md5secret')).toEqual(['{md5}0123;4567']);
      expect(values(row, 'allow')).toEqual(['g722', 'ulaw', 'alaw']);
      expect(values(row, 'secret')).toEqual(['plain', 'text']);
    },
  },
  {
    name: 'chan_sip peers LIKE: insecure LIKE %port% (substrings any)',
    run: async ({ driver }) => ({ m: await driver().multi('sippeers', 'insecure LIKE', '%port%') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskSIPUser)(AstAccountInsecure=*port*))');
      expect(catNames(out.m)).toEqual(['port,invite']);
      expect(value(out.m.categories[0].vars, 'name')).toBe('trunk1');
    },
  },
  // ------------------------------------------------------------------ chan_iax2 (§8.3 ex. 6)
  {
    name: '§8.3-6 IAX peer by name; cn maps back to name',
    run: async ({ driver }) => ({ r: await driver().realtime('iaxpeers', 'name', '2000', 'host', 'dynamic') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskIAXUser)(cn=2000)(AstAccountHost=dynamic))');
      const row = singleRow(out.r);
      expect(value(row, 'name')).toBe('2000');
      expect(value(row, 'secret')).toBe('iax-secret');
      expect(values(row, 'allow')).toEqual(['ulaw']);
      expect(value(row, 'callerid')).toBe('"IAX Desk" <2000>');
    },
  },
  {
    name: '§8.3-6 IAX peer by address before it registered: nothing',
    run: async ({ driver }) => ({ r: await driver().realtime('iaxpeers', 'ipaddr', '192.0.2.20', 'port', '4569') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskIAXUser)(AstAccountIPAddress=192.0.2.20)(AstAccountPort=4569))');
      expect(out.r).toEqual({ code: 0, entries: [] });
    },
  },
  // ------------------------------------------------------------------ dialplan (§8.3 ex. 8-10)
  {
    name: '§8.3-8 dialplan exact extension (field order exten, priority, context)',
    run: async ({ driver }) => ({ r: await driver().realtime('extensions', 'exten', '1000', 'context', 'default', 'priority', '1') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskExtension)(AstExtension=1000)(AstPriority=1)(AstContext=default))');
      const row = singleRow(out.r);
      expect(value(row, 'app')).toBe('Dial');
      expect(value(row, 'appdata')).toBe('PJSIP/1000,20');
    },
  },
  {
    name: '§8.3-9 can match: exten LIKE 100% (substrings initial)',
    run: async ({ driver }) => ({ m: await driver().multi('extensions', 'exten LIKE', '100%', 'context', 'default', 'priority', '1') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskExtension)(AstExtension=100*)(AstPriority=1)(AstContext=default))');
      expect(catNames(out.m)).toEqual(['1000', '1001', '1002']);
    },
  },
  {
    name: '§8.3-9 match more: exten LIKE 100_% keeps a literal underscore',
    run: async ({ driver }) => ({ m: await driver().multi('extensions', 'exten LIKE', '100_%', 'context', 'default', 'priority', '1') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskExtension)(AstExtension=100_*)(AstPriority=1)(AstContext=default))');
      expect(out.m).toEqual({ code: 0, categories: [] });
    },
  },
  {
    name: '§8.3-10 pattern scan: exten LIKE \\_% (substrings initial "_")',
    run: async ({ driver }) => ({ m: await driver().multi('extensions', 'exten LIKE', '\\_%', 'context', 'default', 'priority', '1') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskExtension)(AstExtension=_*)(AstPriority=1)(AstContext=default))');
      expect(catNames(out.m)).toEqual(['_9NXXXXXX.']);
      expect(value(out.m.categories[0].vars, 'appdata')).toBe('PJSIP/${EXTEN:1}@provider,60');
    },
  },
  {
    name: 'realtime_multi: every extension of context default',
    run: async ({ driver }) => ({ m: await driver().multi('extensions', 'exten LIKE', '%', 'context', 'default') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskExtension)(AstExtension=*)(AstContext=default))');
      expect(catNames(out.m)).toEqual(['1000', '1000', '1001', '1001', '1002', '1002', '2000', '600', '600', '600', '8500', '_9NXXXXXX.']);
    },
  },
  {
    name: 'realtime_multi over more than 500 entries is not truncated for the Asterisk identity',
    run: async ({ driver }) => ({ m: await driver().multi('extensions', 'exten LIKE', '%', 'context', 'bulk') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskExtension)(AstExtension=*)(AstContext=bulk))');
      expect(out.m.code).toBe(0);
      expect(out.m.categories).toHaveLength(BULK);
      expect(catNames(out.m)).toEqual(Array.from({ length: BULK }, (_, i) => String(5000 + i)));
    },
  },
  {
    name: 'objectClass equality matches a subclass (AsteriskSIPUser entry, filter AsteriskExtension)',
    run: async ({ driver }) => ({ r: await driver().realtime('extensions', 'exten', '777', 'context', 'subclass', 'priority', '1') }),
    check(out) {
      const row = singleRow(out.r);
      expect(value(row, 'app')).toBe('Playback');
      expect(value(row, 'appdata')).toBe('tt-monkeys');
    },
  },
  // ------------------------------------------------------------------ static config (§8.3 ex. 11)
  {
    name: '§8.3-11 static config load of pjsip.conf (sample.ldif)',
    run: async ({ driver }) => ({ c: await driver().load('pjsip.conf') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskConfig)(AstConfigCommented=FALSE)(AstConfigFilename=pjsip.conf))');
      expect((out.c as StaticResult).categories).toEqual([
        {
          name: 'global',
          metric: 1,
          vars: [
            ['type', 'global'],
            ['user_agent', 'Asterisk on astldap'],
            ['default_realm', 'asterisk'],
          ],
        },
        {
          name: 'transport-udp',
          metric: 2,
          vars: [
            ['type', 'transport'],
            ['protocol', 'udp'],
            ['bind', '0.0.0.0:5060'],
          ],
        },
      ]);
    },
  },
  {
    name: 'static config iax.conf: commented case, metrics (atoi), category order, `;` rows',
    run: async ({ driver }) => ({ c: await driver().load('iax.conf') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskConfig)(AstConfigCommented=FALSE)(AstConfigFilename=iax.conf))');
      const c = out.c as StaticResult;
      expect(c.skipped).toBe(1);
      expect(c.categories).toEqual([
        { name: '2000', metric: 0, vars: [['type', 'friend']] },
        {
          name: 'general',
          metric: 1,
          vars: [
            ['bindport', '4569'],
            ['disallow', 'all'],
            ['allow', 'ulaw'],
            ['allow', 'alaw'],
            ['allow', 'gsm'],
            ['mailboxdetail', 'yes'],
            ['maxjitterbuffer', '1000'],
          ],
        },
        { name: '2000', metric: 3, vars: [['host', 'dynamic']] },
        { name: 'Alpha', metric: 3, vars: [['type', 'user']] },
        { name: 'alpha', metric: 3, vars: [['type', 'peer']] },
      ]);
    },
  },
  {
    name: 'static config through the stock sample filter (objectClass=AstConfig): not found',
    run: async ({ driver }) => ({ c: await driver().load('sip.conf') }),
    check(out, ds) {
      expect(ds[0]!.cfg.families.get('sip.conf')!.base).toBe('ou=config,dc=example,dc=domain');
      expect(filterOf(ds)).toBe('(&(objectClass=AstConfig)(AstConfigCommented=FALSE)(AstConfigFilename=sip.conf))');
      expect(out.c).toEqual({ code: 0, found: false, categories: [], skipped: 0 });
    },
  },
  // ------------------------------------------------------------------ voicemail (§8.3 ex. 12, 14)
  {
    name: '§8.3-12 voicemail box lookup (mailbox, context)',
    run: async ({ driver }) => ({ r: await driver().realtime('voicemail', 'mailbox', '1001', 'context', 'default') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskVoiceMail)(AstVoicemailMailbox=1001)(AstContext=default))');
      const row = singleRow(out.r);
      expect(value(row, 'uniqueid')).toBe('1001');
      expect(value(row, 'fullname')).toBe('Bob Example');
      expect(value(row, 'password')).toBe('4242');
      expect(value(row, 'email')).toBe('bob@example.domain');
      expect(value(row, 'attach')).toBe('yes');
    },
  },
  {
    name: '§8.3-12 voicemail lookup with searchcontexts=yes (mailbox only)',
    run: async ({ driver }) => ({ r: await driver().realtime('voicemail', 'mailbox', '1002') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskVoiceMail)(AstVoicemailMailbox=1002))');
      expect(value(singleRow(out.r), 'fullname')).toBe('Carol Example');
    },
  },
  {
    name: '§8.3-14 app_directory listing: mailbox LIKE %',
    run: async ({ driver }) => ({ m: await driver().multi('voicemail', 'mailbox LIKE', '%', 'context', 'default') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskVoiceMail)(AstVoicemailMailbox=*)(AstContext=default))');
      expect(catNames(out.m)).toEqual(['1000', '1001', '1002']);
    },
  },
  // ------------------------------------------------------------------ queues (§8.3 ex. 15, 16)
  {
    name: '§8.3-15 queue definition by name, and all queues (name LIKE %)',
    run: async ({ driver }) => {
      const d = driver();
      return { one: await d.realtime('queues', 'name', 'sales'), all: await d.multi('queues', 'name LIKE', '%') };
    },
    check(out, ds) {
      expect(filterOf(ds, 0)).toBe('(&(objectClass=AstldapQueue)(cn=sales))');
      expect(filterOf(ds, 1)).toBe('(&(objectClass=AstldapQueue)(cn=*))');
      const row = singleRow(out.one);
      expect(value(row, 'strategy')).toBe('ringall');
      expect(value(row, 'timeout')).toBe('15');
      expect(value(row, 'musiconhold')).toBe('default');
      expect(catNames(out.all)).toEqual(['sales']);
    },
  },
  {
    name: '§8.3-16 queue members of a queue, and the startup scan',
    run: async ({ driver }) => {
      const d = driver();
      return {
        sales: await d.multi('queue_members', 'interface LIKE', '%', 'queue_name', 'sales'),
        scan: await d.multi('queue_members', 'interface LIKE', '%', 'queue_name LIKE', '%'),
      };
    },
    check(out, ds) {
      expect(filterOf(ds, 0)).toBe('(&(objectClass=AstldapQueueMember)(AstQueueMemberInterface=*)(AstQueueMemberQueueName=sales))');
      expect(filterOf(ds, 1)).toBe('(&(objectClass=AstldapQueueMember)(AstQueueMemberInterface=*)(AstQueueMemberQueueName=*))');
      expect(catNames(out.sales)).toEqual(['PJSIP/1000', 'PJSIP/1001']);
      const alice = out.sales.categories.find((c: { name: string }) => c.name === 'PJSIP/1000');
      expect(value(alice.vars, 'membername')).toBe('Alice');
      expect(value(alice.vars, 'state_interface')).toBe('PJSIP/1000');
      expect(value(alice.vars, 'paused')).toBe('0');
      expect(catNames(out.scan)).toEqual(['PJSIP/1000', 'PJSIP/1001']);
    },
  },
  // ------------------------------------------------------------------ PJSIP sorcery (§8.3 ex. 18)
  {
    name: '§8.3-18 PJSIP endpoint by id (*_fields order)',
    run: async ({ driver }) => ({ r: await driver().realtimeFields('ps_endpoints', [['id', '1000']]) }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AstldapPjsipEndpoint)(cn=1000))');
      const row = singleRow(out.r);
      expect(value(row, 'id')).toBe('1000');
      expect(value(row, 'aors')).toBe('1000');
      expect(value(row, 'auth')).toBe('1000');
      expect(values(row, 'allow')).toEqual(['ulaw,alaw']);
      expect(value(row, 'direct_media')).toBe('no');
      expect(value(row, 'rewrite_contact')).toBe('yes');
    },
  },
  {
    name: '§8.3-18 all endpoints (id LIKE %) and prefix (id LIKE 100%)',
    run: async ({ driver }) => {
      const d = driver();
      return {
        all: await d.multiFields('ps_endpoints', [['id LIKE', '%']]),
        prefix: await d.multiFields('ps_endpoints', [['id LIKE', '100%']]),
      };
    },
    check(out, ds) {
      expect(filterOf(ds, 0)).toBe('(&(objectClass=AstldapPjsipEndpoint)(cn=*))');
      expect(filterOf(ds, 1)).toBe('(&(objectClass=AstldapPjsipEndpoint)(cn=100*))');
      expect(catNames(out.all)).toEqual(['1000', '1001', 'provider']);
      expect(catNames(out.prefix)).toEqual(['1000', '1001']);
    },
  },
  {
    name: 'PJSIP aor and auth lookups (md5_cred is not md5secret: kept verbatim)',
    run: async ({ driver }) => {
      const d = driver();
      return {
        aor: await d.realtimeFields('ps_aors', [['id', '1000']]),
        md5: await d.realtimeFields('ps_auths', [['id', '1000']]),
        pass: await d.realtimeFields('ps_auths', [['id', '1001']]),
        regs: await d.multiFields('ps_registrations', [['id LIKE', '%']]),
        identify: await d.multiFields('ps_endpoint_id_ips', [['id LIKE', '%']]),
      };
    },
    check(out) {
      expect(value(singleRow(out.aor), 'max_contacts')).toBe('1');
      expect(value(singleRow(out.aor), 'remove_existing')).toBe('yes');
      expect(value(singleRow(out.md5), 'auth_type')).toBe('md5');
      expect(value(singleRow(out.md5), 'md5_cred')).toBe('31524b771a89e5e99501325f29e66599');
      expect(value(singleRow(out.pass), 'password')).toBe('bob-secret');
      expect(value(singleRow(out.pass), 'username')).toBe('1001');
      expect(catNames(out.regs)).toEqual(['provider']);
      expect(value(out.regs.categories[0].vars, 'server_uri')).toBe('sip:sip.provider.example');
      expect(value(out.identify.categories[0].vars, 'match')).toBe('192.0.2.50');
    },
  },
  // ------------------------------------------------------------------ escaping (§4.2, §4.3, §12.1)
  {
    name: 'post-fix escaping: a*b(c)\\d is one equality match',
    run: async ({ driver }) => ({ r: await driver('fixed').realtime('sippeers', 'name', 'a*b(c)\\d') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskSIPUser)(cn=a\\2ab\\28c\\29\\5cd))');
      expect(out.r.entries).toHaveLength(1);
      expect(value(singleRow(out.r), 'name')).toBe('a*b(c)\\d');
    },
  },
  {
    name: 'pre-fix raw a*b(c)\\d: libldap refuses the filter (-7), nothing reaches either server',
    run: async ({ driver }) => ({ r: await driver('prefix').realtime('sippeers', 'name', 'a*b(c)\\d') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskSIPUser)(cn=a*b(c)\\d))');
      expect(out.r).toEqual({ code: -7, entries: [] });
    },
  },
  {
    name: 'pre-fix raw a*b is a substring injection; post-fix a*b is exact',
    run: async ({ driver }) => ({
      raw: await driver('prefix').realtime('sippeers', 'name', 'a*b'),
      fixed: await driver('fixed').realtime('sippeers', 'name', 'a*b'),
    }),
    check(out, ds) {
      expect(filterOf(ds, 0)).toBe('(&(objectClass=AsteriskSIPUser)(cn=a*b))');
      expect(filterOf(ds, 1)).toBe('(&(objectClass=AsteriskSIPUser)(cn=a\\2ab))');
      // the single-row API merges both entries into one list: the injection's visible effect
      expect(values(singleRow(out.raw), 'name').sort()).toEqual(['a*b', 'alpha-b']);
      expect(values(singleRow(out.fixed), 'name')).toEqual(['a*b']);
    },
  },
  // ------------------------------------------------------------------ server semantics (§4.5)
  {
    name: 'unknown attribute in the filter (stock [extensions] mapping): success, zero entries',
    run: async ({ driver }) => ({ r: await driver().realtime('stockextensions', 'exten', '1000', 'context', 'default', 'priority', '1') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe(
        '(&(objectClass=AsteriskExtension)(AstExtensionExten=1000)(AstExtensionPriority=1)(AstExtensionContext=default))',
      );
      expect(out.r).toEqual({ code: 0, entries: [] });
    },
  },
  {
    name: 'unknown object class (stock [accounts], objectClass=AstAccount): success, zero entries',
    run: async ({ driver }) => ({ r: await driver().realtime('accounts', 'name', '1000', 'host', 'dynamic') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AstAccount)(name=1000)(host=dynamic))');
      expect(out.r).toEqual({ code: 0, entries: [] });
    },
  },
  {
    name: 'empty value equality (AstAccountIPAddress=): success, zero entries',
    run: async ({ driver }) => ({ r: await driver().realtime('sippeers', 'ipaddr', '') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskSIPUser)(AstAccountIPAddress=))');
      expect(out.r).toEqual({ code: 0, entries: [] });
    },
  },
  {
    name: 'single-field AND (&(cn=*)) without additionalFilter',
    run: async ({ driver }) => ({ m: await driver().multi('bare', 'name LIKE', '%') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(cn=*))');
      expect(catNames(out.m)).toEqual(['1000', '1001', '1002', '2000', 'a*b', 'a*b(c)\\d', 'alpha-b', 'md5test', 'roamer', 'trunk1']);
    },
  },
  {
    name: 'unmapped name: (name=1002) matches cn through the supertype; columns keep server names',
    run: async ({ driver }) => ({ r: await driver().realtime('sipaccounts', 'name', '1002') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskAccount)(name=1002))');
      const row = singleRow(out.r);
      expect(value(row, 'cn')).toBe('1002');
      expect(value(row, 'AstAccountRealmedPassword')).toBe('{md5}9a830181f0abe2d856cb84a376d0137f');
      expect(values(row, 'AstAccountAllowedCodec')).toEqual(['ulaw', 'alaw']);
    },
  },
  {
    name: 'operator field (regseconds >): libldap refuses the filter, nothing sent',
    run: async ({ driver }) => ({ r: await driver().realtime('sippeers', 'regseconds >', '0') }),
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskSIPUser)(regseconds >=0))');
      expect(out.r.code).toBe(-7);
    },
  },
  // ------------------------------------------------------------------ writes
  {
    name: '§8.3-4 SIP registration (update, core reorders the fields); read back',
    run: async ({ driver }) => {
      const d = driver();
      const u = await d.update(
        'sippeers',
        'name',
        '1002',
        'ipaddr',
        '192.0.2.10',
        'port',
        '5060',
        'regseconds',
        '1767225600',
        'defaultuser',
        '1002',
        'useragent',
        'Phone/1.0',
        'lastms',
        '0',
        'fullcontact',
        'sip:1002@192.0.2.10:5060;transport=udp',
      );
      return { u, after: await d.realtime('sippeers', 'name', '1002') };
    },
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskSIPUser)(cn=1002))');
      expect(out.u.matched).toBe(1);
      expect(modifiesOf(ds)).toHaveLength(1);
      expect(modifiesOf(ds)[0]!.code).toBe(0);
      expect(modifiesOf(ds)[0]!.changes).toEqual([
        rep('AstAccountIPAddress', '192.0.2.10'),
        rep('AstAccountFullContact', 'sip:1002@192.0.2.10:5060;transport=udp'),
        rep('AstAccountLastQualifyMilliseconds', '0'),
        rep('AstAccountUserAgent', 'Phone/1.0'),
        rep('AstAccountDefaultUser', '1002'),
        rep('AstAccountExpirationTimestamp', '1767225600'),
        rep('AstAccountPort', '5060'),
      ]);
      const row = singleRow(out.after);
      expect(value(row, 'ipaddr')).toBe('192.0.2.10');
      expect(values(row, 'fullcontact')).toEqual(['sip:1002@192.0.2.10:5060', 'transport=udp']);
      expect(value(row, 'regseconds')).toBe('1767225600');
      expect(value(row, 'useragent')).toBe('Phone/1.0');
      expect(value(row, 'lastms')).toBe('0');
      expect(value(row, 'port')).toBe('5060');
    },
  },
  {
    name: '§8.3-5 SIP unregistration: deletes only for attributes the entry returned',
    run: async ({ driver }) => {
      const d = driver();
      const fields = ['fullcontact', '', 'ipaddr', '', 'port', '0', 'regseconds', '0', 'regserver', '', 'useragent', '', 'lastms', '0'];
      const u = await d.update('sippeers', 'name', '1002', ...fields);
      const after = await d.realtime('sippeers', 'name', '1002');
      const again = await d.update('sippeers', 'name', '1002', ...fields);
      return { u, after, again };
    },
    check(out, ds) {
      const mods = modifiesOf(ds);
      expect(mods[0]!.changes).toEqual([
        del('AstAccountFullContact'),
        rep('AstAccountLastQualifyMilliseconds', '0'),
        del('AstAccountUserAgent'),
        // delete AstAccountRegistrationServer dropped: the entry has none
        rep('AstAccountExpirationTimestamp', '0'),
        rep('AstAccountPort', '0'),
        del('AstAccountIPAddress'),
      ]);
      expect(mods[0]!.code).toBe(0);
      const row = singleRow(out.after);
      expect(values(row, 'fullcontact')).toEqual([]);
      expect(values(row, 'ipaddr')).toEqual([]);
      expect(values(row, 'useragent')).toEqual([]);
      expect(value(row, 'port')).toBe('0');
      expect(value(row, 'regseconds')).toBe('0');
      expect(value(row, 'defaultuser')).toBe('1002');
      // the second unregistration: every delete dropped, only the replaces remain
      expect(mods[1]!.changes).toEqual([
        rep('AstAccountLastQualifyMilliseconds', '0'),
        rep('AstAccountExpirationTimestamp', '0'),
        rep('AstAccountPort', '0'),
      ]);
      expect(mods[1]!.code).toBe(0);
      expect(out.again.matched).toBe(1);
    },
  },
  {
    name: 'update2: repeated column joined with `;` into one replace; split again on read',
    run: async ({ driver }) => {
      const d = driver();
      const u = await d.update2(
        'sippeers',
        [['name', '1001']],
        [
          ['fullcontact', 'sip:1001@192.0.2.11:5060'],
          ['ipaddr', '192.0.2.11'],
          ['fullcontact', 'transport=tcp'],
        ],
      );
      return { u, after: await d.realtime('sippeers', 'name', '1001') };
    },
    check(out, ds) {
      expect(modifiesOf(ds)[0]!.changes).toEqual([
        rep('AstAccountFullContact', 'sip:1001@192.0.2.11:5060;transport=tcp'),
        rep('AstAccountIPAddress', '192.0.2.11'),
      ]);
      expect(modifiesOf(ds)[0]!.code).toBe(0);
      expect(values(singleRow(out.after), 'fullcontact')).toEqual(['sip:1001@192.0.2.11:5060', 'transport=tcp']);
      expect(value(singleRow(out.after), 'ipaddr')).toBe('192.0.2.11');
    },
  },
  {
    name: 'update with no matching entry: returns 0, sends no ModifyRequest',
    run: async ({ driver }) => ({ u: await driver().update('sippeers', 'name', 'nobody', 'ipaddr', '192.0.2.99') }),
    check(out, ds) {
      expect(out.u).toEqual({ code: 0, matched: 0, modifies: [] });
      expect(modifiesOf(ds)).toHaveLength(0);
    },
  },
  {
    name: '§8.3-7 IAX registration (with rtsavesysname); found by address afterwards',
    run: async ({ driver }) => {
      const d = driver();
      const u = await d.update(
        'iaxpeers',
        'name',
        '2000',
        'ipaddr',
        '192.0.2.20',
        'port',
        '4569',
        'regseconds',
        '1767225600',
        'regserver',
        'pbx1',
      );
      return { u, byAddr: await d.realtime('iaxpeers', 'ipaddr', '192.0.2.20', 'port', '4569') };
    },
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskIAXUser)(cn=2000))');
      expect(modifiesOf(ds)[0]!.changes).toEqual([
        rep('AstAccountIPAddress', '192.0.2.20'),
        rep('AstAccountRegistrationServer', 'pbx1'),
        rep('AstAccountExpirationTimestamp', '1767225600'),
        rep('AstAccountPort', '4569'),
      ]);
      expect(modifiesOf(ds)[0]!.code).toBe(0);
      const row = singleRow(out.byAddr);
      expect(value(row, 'name')).toBe('2000');
      expect(value(row, 'regserver')).toBe('pbx1');
      expect(value(row, 'regseconds')).toBe('1767225600');
    },
  },
  {
    name: '§8.3-7 IAX expiry: delete ipaddr/port, regseconds 0',
    run: async ({ driver }) => {
      const d = driver();
      const u = await d.update('iaxpeers', 'name', '2000', 'ipaddr', '', 'port', '', 'regseconds', '0');
      return { u, after: await d.realtime('iaxpeers', 'name', '2000') };
    },
    check(out, ds) {
      expect(modifiesOf(ds)[0]!.changes).toEqual([
        del('AstAccountIPAddress'),
        rep('AstAccountExpirationTimestamp', '0'),
        del('AstAccountPort'),
      ]);
      expect(modifiesOf(ds)[0]!.code).toBe(0);
      const row = singleRow(out.after);
      expect(values(row, 'ipaddr')).toEqual([]);
      expect(values(row, 'port')).toEqual([]);
      expect(value(row, 'regseconds')).toBe('0');
    },
  },
  {
    name: '§8.3-13 voicemail password change (update2); read back',
    run: async ({ driver }) => {
      const d = driver();
      const u = await d.update2(
        'voicemail',
        [
          ['context', 'default'],
          ['mailbox', '1001'],
        ],
        [['password', '4321']],
      );
      return { u, after: await d.realtime('voicemail', 'mailbox', '1001', 'context', 'default') };
    },
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AsteriskVoiceMail)(AstContext=default)(AstVoicemailMailbox=1001))');
      expect(out.u.matched).toBe(1);
      expect(modifiesOf(ds)[0]!.changes).toEqual([rep('AstVoicemailPassword', '4321')]);
      expect(modifiesOf(ds)[0]!.code).toBe(0);
      expect(value(singleRow(out.after), 'password')).toBe('4321');
    },
  },
  {
    name: '§8.3-17 queue member pause (update, reason_paused + paused); read back',
    run: async ({ driver }) => {
      const d = driver();
      const u = await d.update('queue_members', 'uniqueid', 'sales-1000', 'reason_paused', 'lunch', 'paused', '1');
      return { u, after: await d.multi('queue_members', 'interface LIKE', '%', 'queue_name', 'sales') };
    },
    check(out, ds) {
      expect(filterOf(ds)).toBe('(&(objectClass=AstldapQueueMember)(cn=sales-1000))');
      expect(out.u.matched).toBe(1);
      // variadic order: the first update field is kept first, the rest reversed (here: only one more)
      expect(modifiesOf(ds)[0]!.changes).toEqual([rep('AstQueueMemberReasonPaused', 'lunch'), rep('AstQueueMemberPaused', '1')]);
      expect(modifiesOf(ds)[0]!.code).toBe(0);
      const alice = out.after.categories.find((c: { name: string }) => c.name === 'PJSIP/1000');
      expect(value(alice.vars, 'paused')).toBe('1');
      expect(value(alice.vars, 'reason_paused')).toBe('lunch');
    },
  },
  {
    name: '§8.3-17 queue member unpause: delete reason_paused only where present',
    run: async ({ driver }) => {
      const d = driver();
      return {
        present: await d.update('queue_members', 'uniqueid', 'sales-1000', 'reason_paused', '', 'paused', '0'),
        absent: await d.update('queue_members', 'uniqueid', 'sales-1001', 'reason_paused', '', 'paused', '0'),
        after: await d.multi('queue_members', 'interface LIKE', '%', 'queue_name', 'sales'),
      };
    },
    check(out, ds) {
      const mods = modifiesOf(ds);
      expect(mods[0]!.changes).toEqual([del('AstQueueMemberReasonPaused'), rep('AstQueueMemberPaused', '0')]);
      expect(mods[1]!.changes).toEqual([rep('AstQueueMemberPaused', '0')]);
      expect(mods.map((m) => m.code)).toEqual([0, 0]);
      for (const c of out.after.categories) {
        expect(value(c.vars, 'paused')).toBe('0');
        expect(values(c.vars, 'reason_paused')).toEqual([]);
      }
    },
  },
  {
    name: 'SIP context change as Asterisk: astldap refuses (50), read-back unchanged',
    astldapOnly: 'slapd (test ACL) lets the Asterisk identity write AstAccountContext; astldap does not',
    restoreSlapd: changeRecord(`cn=1001,${SIP}`, [rep('AstAccountContext', 'default')]),
    run: async ({ driver }) => {
      const d = driver();
      const u = await d.update('sippeers', 'name', '1001', 'context', 'evil');
      return { u, after: await d.realtime('sippeers', 'name', '1001') };
    },
    check(out, ds, side) {
      expect(modifiesOf(ds)[0]!.changes).toEqual([rep('AstAccountContext', 'evil')]);
      expect(modifiesOf(ds)[0]!.code).toBe(side === 'astldap' ? 50 : 0);
      expect(value(singleRow(out.after), 'context')).toBe(side === 'astldap' ? 'default' : 'evil');
    },
  },
  {
    name: 'final state: every realtime peer reads back the same on both servers',
    run: async ({ driver }) => ({
      sip: await driver().multi('sippeers', 'name LIKE', '%'),
      iax: await driver().multi('iaxpeers', 'name LIKE', '%'),
      vm: await driver().multi('voicemail', 'mailbox LIKE', '%'),
    }),
    check(out) {
      expect(catNames(out.sip)).toEqual(['1000', '1001', '1002', 'a*b', 'a*b(c)\\d', 'alpha-b', 'md5test', 'roamer', 'trunk1']);
      expect(catNames(out.iax)).toEqual(['2000']);
      expect(catNames(out.vm)).toEqual(['1000', '1001', '1002']);
    },
  },
];

// ---------------------------------------------------------------------------------------------

describe('Asterisk realtime replay: astldap vs slapd through libldap', () => {
  let astldap: InProcessAstldap | undefined;
  let slapd: AsteriskSlapd | undefined;

  beforeAll(async () => {
    [astldap, slapd] = await Promise.all([
      startAstldap({ packagedSeed: true, seedLdif: SAMPLE + '\n' + EXTRA }),
      startAsteriskSlapd(SEED + '\n' + SAMPLE + '\n' + EXTRA),
    ]);
  });
  afterAll(async () => {
    await Promise.all([astldap?.stop(), slapd?.stop()]);
  });

  it('has 30 cases or more, including every §8.3 example the server sees', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const ex of ['2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15', '16', '17', '18']) {
      expect(
        cases.some((c) => c.name.startsWith(`§8.3-${ex} `)),
        `§8.3 example ${ex}`,
      ).toBe(true);
    }
  });

  for (const c of cases) {
    it(c.name, async () => {
      const sides: { side: SideName; url: string }[] = [
        { side: 'astldap', url: astldap!.url },
        { side: 'slapd', url: slapd!.url },
      ];
      const results = await Promise.all(
        sides.map(async ({ side, url }) => {
          const drivers: Driver[] = [];
          const ctx: Ctx = { side, url, driver: (esc) => new Driver(CFG, backend(url), esc) };
          const out = await c.run({ ...ctx, driver: tracked(ctx, drivers) });
          return { side, out, drivers };
        }),
      );
      if (c.restoreSlapd) {
        const r = await runTool('ldapmodify', ['-x', '-H', slapd!.url, '-D', ROOT_DN, '-w', ROOT_PW], { stdin: c.restoreSlapd });
        expect(r.code, r.stderr).toBe(0);
      }
      for (const { side, out, drivers } of results) {
        try {
          c.check(out, drivers, side);
        } catch (err) {
          (err as Error).message = `[${side}] ${(err as Error).message}`;
          throw err;
        }
      }
      const [a, s] = results;
      // The requests are the driver's, so they are the same for both servers by construction;
      // what the servers answered must agree too (except the documented differences).
      expect(a!.drivers.flatMap((d) => d.requests.map((r) => (r.kind === 'search' ? r.filter : r.changes)))).toEqual(
        s!.drivers.flatMap((d) => d.requests.map((r) => (r.kind === 'search' ? r.filter : r.changes))),
      );
      if (!c.astldapOnly) expect(canon(a!.out), 'astldap read-back = slapd read-back').toEqual(canon(s!.out));
    });
  }
});
