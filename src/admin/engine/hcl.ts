// The subset of HCL that Vault's policies are written in, as tokens: identifiers, strings
// (with \n, \t, \u escapes), numbers and the punctuation = { } [ ] :, with #, // and /* */
// comments. Both policy languages read it: password policies (password-policy.ts) and ACL
// policies (../api/acl-policy.ts).

/** A policy's text could not be read; the message says where. */
export class PolicyError extends Error {
  override name = 'PolicyError';
}

export type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string; pos: number };

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c) || c === ',') {
      i++;
      continue;
    }
    if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new PolicyError('unterminated comment');
      i = end + 2;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          const n = src[j + 1];
          if (n === undefined) break;
          if (n === 'n') text += '\n';
          else if (n === 't') text += '\t';
          else if (n === 'u') {
            text += String.fromCharCode(parseInt(src.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          } else text += n;
          j += 2;
          continue;
        }
        text += src[j];
        j++;
      }
      if (src[j] !== '"') throw new PolicyError(`unterminated string at offset ${i}`);
      out.push({ kind: 'string', text, pos: i });
      i = j + 1;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i;
      while (j < src.length && /[0-9]/.test(src[j]!)) j++;
      out.push({ kind: 'number', text: src.slice(i, j), pos: i });
      i = j;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < src.length && /[A-Za-z0-9_-]/.test(src[j]!)) j++;
      out.push({ kind: 'ident', text: src.slice(i, j), pos: i });
      i = j;
      continue;
    }
    if ('={}[]:'.includes(c)) {
      out.push({ kind: 'punct', text: c, pos: i });
      i++;
      continue;
    }
    throw new PolicyError(`unexpected character ${JSON.stringify(c)} at offset ${i}`);
  }
  return out;
}
