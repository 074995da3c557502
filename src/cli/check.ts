// `astldap check`: validates a configuration file the way the server would load it, and names
// the key and the line of each problem (YAML syntax errors, unknown keys, invalid values).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML, { isMap, isScalar, LineCounter, type Document, type Node } from 'yaml';
import { ConfigError, loadConfig } from '../config/config.js';
import { configSchema } from '../config/schema.js';

/** The node of a dotted key path such as `limits.sizeLimit` or `access[2].by`. */
function nodeAt(doc: Document, key: string): Node | undefined {
  const parts = key.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '');
  for (let n = parts.length; n > 0; n--) {
    const p = parts.slice(0, n).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    const node = doc.getIn(p, true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node) return node;
    // A key present without a value node: point at the key itself.
    const parent = n > 1 ? doc.getIn(p.slice(0, -1), true) : doc.contents;
    if (isMap(parent)) {
      const pair = parent.items.find((i) => isScalar(i.key) && i.key.value === p[n - 1]);
      if (pair && isScalar(pair.key)) return pair.key;
    }
  }
  return undefined;
}

/** Prints one line per problem (`FILE:LINE: key: message`); 0 when the file is valid, else 1. */
export function checkConfigFile(file: string | undefined, print: (line: string) => void): number {
  if (!file) {
    print('no configuration file: give --config FILE');
    return 1;
  }
  const rel = path.relative(process.cwd(), file);
  const shown = rel && !rel.startsWith('..') ? rel : file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    print(`${shown}: cannot read: ${(err as Error).message}`);
    return 1;
  }
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (node: Node | undefined) => (node?.range ? lines.linePos(node.range[0]).line : undefined);
  const problems: string[] = [];
  for (const e of doc.errors) problems.push(`${shown}:${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  if (!problems.length && isMap(doc.contents)) {
    const known = new Set(Object.keys(configSchema.shape));
    for (const item of doc.contents.items) {
      const k = isScalar(item.key) ? String(item.key.value) : '';
      if (!known.has(k)) problems.push(`${shown}:${lineOf(item.key as Node) ?? '?'}: ${k}: unknown setting`);
    }
  }
  if (!problems.length) {
    try {
      // The environment must not hide a bad file value (ASTLDAP_ADMIN_PASSWORD, ...).
      loadConfig({ file, env: {} });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // Every problem on its own line, at the line of the key it names.
      for (const message of err.problems) {
        const key = /^([A-Za-z][\w]*(?:\[\d+\])?(?:\.[A-Za-z]\w*(?:\[\d+\])?)*)/.exec(message)?.[1] ?? '';
        const line = key ? lineOf(nodeAt(doc, key)) : undefined;
        problems.push(`${shown}:${line ?? '?'}: ${message}`);
      }
    }
  }
  for (const p of problems) print(p);
  if (!problems.length) print(`${shown}: OK`);
  return problems.length ? 1 : 0;
}
