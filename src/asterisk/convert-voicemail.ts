// voicemail.conf to the voicemail realtime table: one entry per `mailbox => password,fullname,
// email,pager,options` line of a context (options: `key=value|key=value`, app_voicemail's own
// names). [general] and [zonemessages] configure app_voicemail itself and stay in the file, and
// so does the context [general] names as aliasescontext: its lines are aliases, which
// app_voicemail reads from the static file only (load_aliases), never mailboxes.
// cn is the mailbox in the default context and mailbox@context elsewhere (Asterisk's spelling).

import { lastValue, type ParsedConfig } from './config-parser.js';
import { keepSection, keepStatic, type Conversion, type ConvertContext } from './model.js';

const STATIC_SECTIONS = new Set(['general', 'zonemessages']);
export const VOICEMAIL_CLASSES = ['AsteriskMailbox', 'AsteriskVoiceMail', 'AstldapVoicemail'];

export const mailboxId = (mailbox: string, context: string): string => (context === 'default' ? mailbox : `${mailbox}@${context}`);

export function convertVoicemail(cfg: ParsedConfig, ctx: ConvertContext, out: Conversion): void {
  const general = cfg.categories.find((c) => c.name.toLowerCase() === 'general');
  const aliases = (general && lastValue(general, 'aliasescontext')?.trim().toLowerCase()) || undefined;
  for (const cat of cfg.categories) {
    if (cat.template) continue;
    if (aliases && cat.name.toLowerCase() === aliases) {
      keepSection(out, cat, `[${cat.name}] is the aliasescontext: app_voicemail reads aliases from the static voicemail.conf only`);
      continue;
    }
    for (const v of cat.variables) {
      // The report shows the line without the PIN (the first field).
      const text = `${v.name} ${v.object ? '=>' : '='} ${STATIC_SECTIONS.has(cat.name.toLowerCase()) ? v.value : v.value.replace(/^[^,]*/, '<hidden>')}`;
      if (STATIC_SECTIONS.has(cat.name.toLowerCase())) {
        keepStatic(out, cat.name, v);
        out.skipped.push({
          origin: v.origin,
          text,
          reason: `[${cat.name}] configures app_voicemail itself: keep it in the static voicemail.conf`,
        });
        continue;
      }
      const [password = '', fullname = '', email = '', pager = '', options = ''] = v.value.split(',').map((s) => s.trim());
      const b = ctx.builder('voicemail', mailboxId(v.name, cat.name), v.origin, `mailbox ${v.name}@${cat.name}`, VOICEMAIL_CLASSES, out);
      b.set('context', [cat.name], v.origin, text);
      b.set('mailbox', [v.name], v.origin, text);
      if (password) b.set('password', [password], v.origin, text);
      if (fullname) b.set('fullname', [fullname], v.origin, text);
      if (email) b.set('email', [email], v.origin, text);
      if (pager) b.set('pager', [pager], v.origin, text);
      for (const opt of options.split('|').filter(Boolean)) {
        const eq = opt.indexOf('=');
        if (eq <= 0) {
          out.skipped.push({ origin: v.origin, text: opt, reason: 'a mailbox option needs key=value' });
          continue;
        }
        b.set(opt.slice(0, eq).trim(), [opt.slice(eq + 1).trim()], v.origin, opt);
      }
      out.entries.push(b.entry);
    }
  }
  out.families.push('voicemail');
}
