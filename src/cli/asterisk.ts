// `astldap asterisk ...`: convert an Asterisk configuration directory to LDIF or into a running
// directory, and manage PJSIP endpoints over LDAP. Options and exit codes are documented in
// ASTERISK_USAGE; the work is done in src/asterisk/, which the console can call too.

import { chmodSync, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { executePlan, planApply, planLdif, planSummary } from '../asterisk/apply.js';
import { convertDirectory } from '../asterisk/convert.js';
import { endpointCommand, EXIT, ENDPOINT_USAGE } from '../asterisk/endpoints.js';
import { dialplanCommand, DIALPLAN_USAGE } from '../asterisk/dialplan.js';
import { mailboxQueueCommand, MAILBOX_QUEUE_USAGE } from '../asterisk/mailboxes-queues.js';
import { peerCommand, PEER_USAGE } from '../asterisk/peers.js';
import { describeError, DirectoryClient, type ConnectOptions } from '../asterisk/ldap-client.js';
import { ExtConfig, ResLdapMapping } from '../asterisk/mapping.js';
import { exitStatus, remainderText, reportJson, reportText, toLdif } from '../asterisk/output.js';
import type { ConvertResult } from '../asterisk/convert.js';

export const ASTERISK_USAGE = `usage: astldap asterisk convert DIR [-o FILE] [--dry-run] [--apply CONNECTION] [--res-ldap FILE]
                                [--extconfig FILE] [--keep-cleartext] [--prune] [--verbose] [--json]
       astldap asterisk endpoint add|list|show|set|passwd|remove ... CONNECTION
       astldap asterisk mailbox add|remove ... CONNECTION
       astldap asterisk queue add|remove|member add|member remove ... CONNECTION

convert reads pjsip.conf, sip.conf (to PJSIP), iax.conf, voicemail.conf, queues.conf,
extensions.conf and musiconhold.conf of DIR (with their #includes) and writes LDIF for the layout of data/asterisk/sample.ldif to stdout or -o FILE
(mode 0600: it may hold passwords), or loads it into a running server with --apply. The report
(stderr) names every converted object's file and line and every line not converted, and why.
  -o FILE               write the LDIF to FILE instead of stdout
  --dry-run             write nothing: print the report (with --apply: the changes, as LDIF)
  --apply               add missing entries and modify existing ones to match
  --prune               (with --apply) delete entries of a converted family no file defines
  --res-ldap FILE       attribute names from this res_ldap.conf (default: the shipped one)
  --extconfig FILE      base DNs from this extconfig.conf (default: the shipped one)
  --keep-cleartext      keep PJSIP passwords (auth_type=userpass) instead of md5_cred
  --chan-sip            sip.conf peers also as chan_sip realtime peers (ou=sip), for Asterisk 20
  --static-out DIR      write what stays static (e.g. extensions.conf with its includes, hints
                        and switch => Realtime/...) to new files in DIR (mode 0600)
  --verbose             list every converted object in the report
  --json                the report as JSON on stdout (no LDIF)
exit status: 0 everything converted, 3 some lines were not converted (listed), 1 an error (a file
with a syntax error is not converted at all), 2 a usage error.

${ENDPOINT_USAGE}
${MAILBOX_QUEUE_USAGE}
${DIALPLAN_USAGE}
${PEER_USAGE}
CONNECTION (as for ldapadd): -H URL (default ldap://127.0.0.1:1389; ldapi://PATH too),
  -D DN -w PASSWORD | -D DN -y FILE (the whole file is the password) | -Y EXTERNAL (over ldapi)
`;

const OPTIONS = {
  H: { type: 'string', short: 'H' },
  D: { type: 'string', short: 'D' },
  w: { type: 'string', short: 'w' },
  y: { type: 'string', short: 'y' },
  Y: { type: 'string', short: 'Y' },
  o: { type: 'string', short: 'o' },
  'dry-run': { type: 'boolean' },
  apply: { type: 'boolean' },
  prune: { type: 'boolean' },
  'res-ldap': { type: 'string' },
  extconfig: { type: 'string' },
  'static-out': { type: 'string' },
  'keep-cleartext': { type: 'boolean' },
  'chan-sip': { type: 'boolean' },
  verbose: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  password: { type: 'string' },
  generate: { type: 'boolean' },
  context: { type: 'string' },
  codecs: { type: 'string' },
  'max-contacts': { type: 'string' },
  callerid: { type: 'string' },
  realm: { type: 'string' },
  template: { type: 'string' },
  fullname: { type: 'string' },
  email: { type: 'string' },
  strategy: { type: 'string' },
  penalty: { type: 'string' },
  membername: { type: 'string' },
  timeout: { type: 'string' },
  musiconhold: { type: 'string' },
  paused: { type: 'string' },
  app: { type: 'string' },
  host: { type: 'string' },
  mailbox: { type: 'string' },
  appdata: { type: 'string' },
} as const;

export type AsteriskValues = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS, strict: true });
}

export const connectOptions = (v: AsteriskValues): ConnectOptions => ({
  url: v.H,
  bindDn: v.D,
  password: v.w,
  passwordFile: v.y,
  saslMech: v.Y,
});

/** Runs `astldap asterisk ARGS`; resolves with the exit status. */
export async function asteriskCommand(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    err.write(`astldap asterisk: ${(e as Error).message}\n${ASTERISK_USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help || !positionals.length) {
    (values.help ? out : err).write(ASTERISK_USAGE);
    return values.help ? 0 : EXIT.usage;
  }
  const [command, ...rest] = positionals;
  if (command === 'convert') {
    try {
      return await convert(rest, values, out, err);
    } catch (e) {
      err.write(`astldap asterisk convert: ${describeError(e)}\n`);
      return EXIT.error;
    }
  }
  if (command === 'endpoint') return endpointCommand(rest, values, connectOptions(values), out, err);
  if (command === 'peer') return peerCommand(rest, values, connectOptions(values), out, err);
  if (command === 'dialplan') return dialplanCommand(rest, values, connectOptions(values), out, err);
  if (command === 'mailbox' || command === 'queue') return mailboxQueueCommand(command, rest, values, connectOptions(values), out, err);
  err.write(`astldap asterisk: unknown command "${command}"\n${ASTERISK_USAGE}`);
  return EXIT.usage;
}

async function convert(args: string[], v: AsteriskValues, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (args.length !== 1) {
    err.write(`astldap asterisk convert: give exactly one DIR\n`);
    return EXIT.usage;
  }
  const mapping = v['res-ldap'] ? ResLdapMapping.read(v['res-ldap']) : ResLdapMapping.read();
  const ext = v.extconfig ? ExtConfig.read(v.extconfig) : ExtConfig.read();
  const result = convertDirectory({ dir: args[0]!, mapping, extconfig: ext, keepCleartext: v['keep-cleartext'], chanSip: v['chan-sip'] });
  const status = exitStatus(result);
  if (v['static-out']) writeRemainders(v['static-out'], args[0]!, result, err);
  if (v.json) out.write(JSON.stringify(reportJson(result), null, 2) + '\n');
  else err.write(reportText(result, v.verbose));
  if (v.apply) {
    const client = await DirectoryClient.connect(connectOptions(v));
    try {
      const plan = await planApply(client, result, { mapping, ext, prune: v.prune ?? false });
      if (v['dry-run']) {
        if (!v.json) out.write(planLdif(plan));
        err.write(`dry run: ${planSummary(plan)}; nothing written\n`);
      } else {
        await executePlan(client, plan);
        err.write(`applied: ${planSummary(plan)}\n`);
      }
    } finally {
      await client.close();
    }
    return status;
  }
  if (v.prune) err.write('--prune has no effect without --apply\n');
  if (v['dry-run'] || v.json) return status;
  const ldif = toLdif(result);
  if (v.o) {
    writeFileSync(v.o, ldif, { mode: 0o600 });
    chmodSync(v.o, 0o600);
  } else out.write(ldif);
  return status;
}

/** The static remainders as new files in dir: never into the converted directory, never over a file. */
function writeRemainders(dir: string, source: string, result: ConvertResult, err: NodeJS.WritableStream): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (realpathSync(dir) === realpathSync(source)) throw new Error(`--static-out ${dir} is the directory being converted: give another one`);
  for (const c of result.conversions) {
    const text = remainderText(c);
    if (text === undefined) continue;
    const file = path.join(dir, c.file);
    if (existsSync(file)) throw new Error(`--static-out: ${file} exists already`);
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    err.write(`wrote ${file}\n`);
  }
}
