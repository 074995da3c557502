// `astldap asterisk convert DIR`: reads the Asterisk files of DIR that extconfig.conf serves from
// the directory, one at a time (a syntax error drops that file whole), and turns them into
// entries laid out as data/asterisk/sample.ldif does, with a report of every line left out.
// Attribute names come from res_ldap.conf, bases from extconfig.conf: a site's own copies work.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDn } from '../schema/dn.js';
import { ConfigSyntaxError, parseConfigFile, type ParsedConfig } from './config-parser.js';
import { convertDialplan } from './convert-dialplan.js';
import { convertIax } from './convert-iax.js';
import { convertMoh } from './convert-moh.js';
import { convertPjsip } from './convert-pjsip.js';
import { convertQueues } from './convert-queues.js';
import { convertSip } from './convert-sip.js';
import { convertVoicemail } from './convert-voicemail.js';
import { ExtConfig, MappingError, ResLdapMapping, SHIPPED_DIR } from './mapping.js';

export type { ConvertContext };
import { dnKey, EntryBuilder, rdn, type Conversion, type ConvertContext, type DraftEntry } from './model.js';

export interface ConvertOptions {
  dir: string;
  mapping?: ResLdapMapping;
  extconfig?: ExtConfig;
  /** Keep PJSIP passwords as userpass instead of md5_cred. */
  keepCleartext?: boolean;
  /** sip.conf peers also as chan_sip realtime peers (sippeers), for Asterisk 20 and older. */
  chanSip?: boolean;
}

export interface ConvertResult {
  conversions: Conversion[];
  /** Containers first (parents before children), then every converted entry. */
  entries: DraftEntry[];
  /** The suffix the bases share. */
  suffix: string;
}

type Converter = (cfg: ParsedConfig, ctx: ConvertContext, out: Conversion) => void;

const CONVERTERS: Array<[string, Converter]> = [
  ['pjsip.conf', convertPjsip],
  ['sip.conf', convertSip],
  ['iax.conf', convertIax],
  ['voicemail.conf', convertVoicemail],
  ['queues.conf', convertQueues],
  ['extensions.conf', convertDialplan],
  ['musiconhold.conf', convertMoh],
];
export function convertDirectory(opts: ConvertOptions): ConvertResult {
  const mapping = opts.mapping ?? ResLdapMapping.read();
  const ext = opts.extconfig ?? ExtConfig.read();
  const ctx: ConvertContext = {
    mapping,
    ext,
    keepCleartext: opts.keepCleartext ?? false,
    chanSip: opts.chanSip ?? false,
    files: new Set(CONVERTERS.map(([file]) => file).filter((file) => existsSync(path.join(opts.dir, file)))),
    builder(family, id, origin, label, classes, out) {
      const b = ext.binding(family);
      const builder = new EntryBuilder(mapping, b.table, out.skipped, {
        dn: rdn('cn', id, b.base),
        family,
        origin,
        label,
        objectClasses: classes,
      });
      builder.setAttribute('cn', [id]);
      return builder;
    },
  };
  const conversions: Conversion[] = [];
  const seen = new Set<string>();
  for (const [file, convert] of CONVERTERS) {
    if (!existsSync(path.join(opts.dir, file))) continue;
    const out: Conversion = { file, entries: [], skipped: [], remainder: [], families: [] };
    try {
      const cfg = parseConfigFile(opts.dir, file);
      for (const d of cfg.directives)
        out.skipped.push({ origin: d.origin, text: `#${d.name} ${d.argument}`, reason: 'the converter does not run programs' });
      convert(cfg, ctx, out);
    } catch (err) {
      // A syntax error, or a family the site's extconfig.conf / res_ldap.conf does not serve:
      // nothing of this file, the others still.
      if (!(err instanceof ConfigSyntaxError || err instanceof MappingError)) throw err;
      Object.assign(out, { entries: [], skipped: [], remainder: [], families: [], notes: [], error: err.message });
    }
    dropDuplicates(out, seen);
    conversions.push(out);
  }
  const converted = conversions.flatMap((c) => c.entries);
  const suffix = commonSuffix(ext.bases());
  return { conversions, entries: [...containers([...converted, ...familyBases(conversions, ext)], suffix), ...converted], suffix };
}

/**
 * A stand-in below the base of every family a file defines, so that containers() makes the base
 * even when the file has no entry for it: Asterisk searches every family it is configured for
 * (res_pjsip looks a domain alias up for each request, which a sip.conf never has), and a base
 * that does not exist answers noSuchObject, which Asterisk logs as a WARNING every time.
 */
function familyBases(conversions: Conversion[], ext: ExtConfig): DraftEntry[] {
  return conversions.flatMap((c) =>
    c.families
      .filter((f) => ext.has(f))
      .map((f) => ({
        dn: rdn('cn', 'base', ext.binding(f).base),
        family: f,
        objectClasses: [],
        attributes: new Map(),
        origin: { file: c.file, line: 0 },
        label: `base of ${f}`,
      })),
  );
}

/** Two sections (of any file) that would make one DN: the first stays, the second is reported. */
function dropDuplicates(out: Conversion, seen: Set<string>): void {
  out.entries = out.entries.filter((e) => {
    const k = dnKey(e.dn);
    if (!seen.has(k)) return seen.add(k);
    out.skipped.push({ origin: e.origin, text: e.label, reason: `a second definition of ${e.dn} (the first one is converted)` });
    return false;
  });
}

/** The RDNs all bases share at their end (the directory suffix), leaving each base one of its own. */
function commonSuffix(dns: string[]): string {
  if (!dns.length) return '';
  const parsed = dns.map((d) => parseDn(d).reverse());
  const max = Math.min(...parsed.map((p) => p.length)) - 1;
  const keyOf = (rdn: Array<{ type: string; value: string }>) => rdn.map((a) => `${a.type}=${a.value}`.toLowerCase()).join('+');
  let n = 0;
  while (n < max && parsed.every((p) => keyOf(p[n]!) === keyOf(parsed[0]![n]!))) n++;
  return dns[0]!
    .split(/(?<!\\),/)
    .slice(-n || Infinity)
    .join(',');
}

/** organizationalUnit entries for every ou= between the suffix and the entries, parents first. */
function containers(entries: DraftEntry[], suffix: string): DraftEntry[] {
  const out = new Map<string, DraftEntry>();
  const depth = suffix ? parseDn(suffix).length : 0;
  for (const e of entries) {
    const rdns = parseDn(e.dn);
    for (let i = rdns.length - depth - 1; i >= 1; i--) {
      const [ava] = rdns[i]!;
      if (!ava || rdns[i]!.length !== 1 || ava.type.toLowerCase() !== 'ou') break;
      const dn = e.dn
        .split(/(?<!\\),/)
        .slice(i)
        .join(',');
      if (out.has(dnKey(dn))) continue;
      out.set(dnKey(dn), {
        dn,
        family: 'container',
        objectClasses: ['organizationalUnit'],
        attributes: new Map([['ou', [ava.value]]]),
        origin: e.origin,
        label: `container ${ava.value}`,
      });
    }
  }
  return [...out.values()].sort((a, b) => parseDn(a.dn).length - parseDn(b.dn).length);
}

/** DNs of the packaged seed (data/seed.ldif): containers there need no LDIF of their own. */
export function seedDns(): Set<string> {
  const file = path.resolve(SHIPPED_DIR, '..', 'seed.ldif');
  if (!existsSync(file)) return new Set();
  const dns = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('dn: '))
    .map((l) => dnKey(l.slice(4).trim()));
  return new Set(dns);
}
