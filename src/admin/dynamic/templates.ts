// The templates of dynamic roles, the subset of Vault's Go templates its LDAP engine documents:
// `{{.Username}}`, `{{.Password}}`, `{{.DisplayName}}`, `{{.RoleName}}` in LDIF and username
// templates, `{{random N}}`, `{{unix_time}}`, `{{truncate N ...}}`-free length capping by the
// caller, plus `{{md5 .Username ":realm:" .Password}}` (MD5 hex of the concatenation, the md5_cred
// of an Asterisk PJSIP auth) and `{{base64 .Password}}`.

import { createHash, randomInt } from 'node:crypto';
import { invalid } from '../engine/errors.js';

export type TemplateFields = Record<string, string>;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The arguments of one action: `.Field` or "quoted" items. */
function args(text: string, fields: TemplateFields, tpl: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|\.(\w+)|(\d+))/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(text))) {
    pos = re.lastIndex;
    if (m[1] !== undefined) out.push(m[1].replace(/\\(.)/g, '$1'));
    else if (m[2] !== undefined) {
      if (!(m[2] in fields)) throw invalid(`template ${JSON.stringify(tpl)}: unknown field .${m[2]}`);
      out.push(fields[m[2]]!);
    } else out.push(m[3]!);
  }
  if (text.slice(pos).trim()) throw invalid(`template ${JSON.stringify(tpl)}: cannot read ${JSON.stringify(text.slice(pos).trim())}`);
  return out;
}

function action(body: string, fields: TemplateFields, tpl: string): string {
  const t = body.trim();
  const [fn = '', rest = ''] = t.startsWith('.') ? ['', t] : [t.split(/\s+/)[0]!, t.slice(t.split(/\s+/)[0]!.length)];
  const a = args(rest, fields, tpl);
  switch (fn) {
    case '':
      return a.join('');
    case 'random': {
      const n = Number(a[0]);
      if (!Number.isInteger(n) || n < 1 || n > 128) throw invalid(`template ${JSON.stringify(tpl)}: random needs a length 1..128`);
      return Array.from({ length: n }, () => ALNUM[randomInt(ALNUM.length)]).join('');
    }
    case 'unix_time':
      return String(Math.floor(Date.now() / 1000));
    case 'md5':
      return createHash('md5').update(a.join(''), 'utf8').digest('hex');
    case 'base64':
      return Buffer.from(a.join(''), 'utf8').toString('base64');
    case 'lowercase':
      return a.join('').toLowerCase();
    default:
      throw invalid(`template ${JSON.stringify(tpl)}: unknown function ${fn}`);
  }
}

/**
 * Renders tpl with fields; an unknown field or function is an invalid (400) error. For LDIF, a
 * value with a line break or NUL is refused: it could add lines (records or attributes) of its
 * own. (A password policy with characters LDIF cannot hold plainly wants `attr:: {{base64 .Password}}`.)
 */
export function render(tpl: string, fields: TemplateFields, ldif = false): string {
  return tpl.replace(/\{\{-?([\s\S]*?)-?\}\}/g, (_m, body: string) => {
    const v = action(body, fields, tpl);
    if (ldif && /[\r\n\0]/.test(v))
      throw invalid(`template ${JSON.stringify(body.trim())}: the value holds a line break or NUL, which LDIF cannot take here`);
    return v;
  });
}

/** Checks a template once with sample values (role writes refuse what would fail at creds time). */
export function checkTemplate(tpl: string, fields: readonly string[]): void {
  render(tpl, Object.fromEntries(fields.map((f) => [f, 'x'])));
}
