// Asterisk's configuration-file grammar, as main/config.c reads it: categories `[name]` with
// options `(!)` (template), `(+)` (add to the category of that name) and template names (their
// variables are copied in first, at the header, as ast_category_inherit does); `name = value`,
// `name => value` and `name += value` (appends to the last value of that name); `;` comments,
// `;-- ... --;` block comments and `\;` escapes; `#include` / `#tryinclude` relative to the
// configuration directory, with globs. Every category and variable keeps the file and line it
// came from. A syntax error names both and nothing of the file is returned.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Where a category or variable was written: file relative to the configuration directory. */
export interface Origin {
  file: string;
  line: number;
}

export interface ConfigVariable {
  name: string;
  value: string;
  /** Written as `name => value` (an "object" line: exten, same, include, member, ...). */
  object: boolean;
  origin: Origin;
  /** Copied from this template (the origin is the template's line). */
  inheritedFrom?: string;
}

export interface ConfigCategory {
  name: string;
  /** Declared with `(!)`: a template, not an object of its own. */
  template: boolean;
  /** Templates named in the header, in order. */
  inherits: string[];
  variables: ConfigVariable[];
  origin: Origin;
}

/** A `#` directive the parser keeps but does not run (`#exec`). */
export interface ConfigDirective {
  name: string;
  argument: string;
  origin: Origin;
}

export interface ParsedConfig {
  /** The top file, relative to the configuration directory. */
  file: string;
  categories: ConfigCategory[];
  directives: ConfigDirective[];
  /** Every file read (the top file and its includes), relative to the directory. */
  files: string[];
}

export class ConfigSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ConfigSyntaxError';
  }
}

interface ParseState {
  dir: string;
  result: ParsedConfig;
  current: ConfigCategory | undefined;
  /** Files being read, for include loops. */
  stack: string[];
}

/** Reads DIR/FILE and everything it includes. Throws ConfigSyntaxError on a bad line. */
export function parseConfigFile(dir: string, file: string): ParsedConfig {
  const result: ParsedConfig = { file, categories: [], directives: [], files: [] };
  const state: ParseState = { dir, result, current: undefined, stack: [] };
  readInto(state, file, { file, line: 0 });
  return result;
}

/** Parses text as if it were DIR/FILE (includes are still read from DIR). */
export function parseConfigText(text: string, file: string, dir = '.'): ParsedConfig {
  const result: ParsedConfig = { file, categories: [], directives: [], files: [file] };
  const state: ParseState = { dir, result, current: undefined, stack: [file] };
  parseText(state, text, file);
  return result;
}

function readInto(state: ParseState, file: string, from: Origin): void {
  const full = path.resolve(state.dir, file);
  if (state.stack.includes(file))
    throw new ConfigSyntaxError(from.file, from.line, `#include loop: ${[...state.stack, file].join(' -> ')}`);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new ConfigSyntaxError(from.file, from.line, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  state.stack.push(file);
  state.result.files.push(file);
  parseText(state, text, file);
  state.stack.pop();
}

function parseText(state: ParseState, text: string, file: string): void {
  const lines = text.split(/\r?\n/);
  let depth = 0;
  let opened = 0;
  for (let i = 0; i < lines.length; i++) {
    const origin = { file, line: i + 1 };
    const stripped = stripComments(lines[i]!, depth);
    if (!depth && stripped.depth) opened = i + 1;
    depth = stripped.depth;
    const line = stripped.text.trim();
    if (!line) continue;
    if (line.startsWith('#')) directive(state, line, origin);
    else if (line.startsWith('[')) header(state, line, origin);
    else variable(state, line, origin);
  }
  if (depth) throw new ConfigSyntaxError(file, opened, 'block comment ;-- is not closed with --;');
}

/**
 * The line without comments; `\\;` becomes `;`. Tracks `;-- ... --;` block comments (which nest)
 * across lines as a depth; `;---...` (a third dash) is an ordinary line comment, as in config.c.
 */
export function stripComments(line: string, depth: number): { text: string; depth: number } {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && line[i + 1] === ';') {
      if (!depth) out += ';';
      i++;
    } else if (c === ';' && line.startsWith(';--', i) && line[i + 3] !== '-') {
      depth++;
      i += 2;
    } else if (depth && c === '-' && line.startsWith('--;', i)) {
      depth--;
      i += 2;
    } else if (depth) {
      continue;
    } else if (c === ';') {
      break;
    } else out += c;
  }
  return { text: out, depth };
}

function directive(state: ParseState, line: string, origin: Origin): void {
  const m = /^#\s*(\w+)\s*(.*)$/.exec(line);
  if (!m) throw new ConfigSyntaxError(origin.file, origin.line, `bad directive "${line}"`);
  const name = m[1]!.toLowerCase();
  const arg = m[2]!.trim().replace(/^["<](.*)[">]$/, '$1');
  if (name === 'include' || name === 'tryinclude') {
    if (!arg) throw new ConfigSyntaxError(origin.file, origin.line, `#${name} needs a file name`);
    const files = expandGlob(state.dir, arg);
    if (!files.length && name === 'include') {
      throw new ConfigSyntaxError(origin.file, origin.line, `#include ${arg}: no such file`);
    }
    for (const f of files) readInto(state, f, origin);
  } else if (name === 'exec') {
    state.result.directives.push({ name, argument: arg, origin });
  } else {
    throw new ConfigSyntaxError(origin.file, origin.line, `unknown directive #${name}`);
  }
}

function header(state: ParseState, line: string, origin: Origin): void {
  const m = /^\[([^\]]*)\]\s*(?:\(([^)]*)\))?$/.exec(line);
  if (!m) throw new ConfigSyntaxError(origin.file, origin.line, `bad category header "${line}" (expected [name] or [name](options))`);
  const name = m[1]!.trim();
  if (!name) throw new ConfigSyntaxError(origin.file, origin.line, 'empty category name');
  const options = (m[2] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (options.includes('+')) {
    const existing = [...state.result.categories].reverse().find((c) => c.name === name);
    if (!existing) throw new ConfigSyntaxError(origin.file, origin.line, `[${name}](+): no earlier category ${name} to add to`);
    state.current = existing;
    return;
  }
  const cat: ConfigCategory = { name, template: options.includes('!'), inherits: [], variables: [], origin };
  for (const opt of options) {
    if (opt === '!') continue;
    const tpl = [...state.result.categories].reverse().find((c) => c.name === opt);
    if (!tpl) throw new ConfigSyntaxError(origin.file, origin.line, `[${name}] inherits from ${opt}, which is not defined above`);
    cat.inherits.push(opt);
    for (const v of tpl.variables) cat.variables.push({ ...v, inheritedFrom: v.inheritedFrom ?? opt });
  }
  state.result.categories.push(cat);
  state.current = cat;
}

function variable(state: ParseState, line: string, origin: Origin): void {
  const m = /^([^=]*?)\s*(\+=|=>|=)\s*(.*)$/.exec(line);
  if (!m) throw new ConfigSyntaxError(origin.file, origin.line, `no "=" in "${line}"`);
  if (!m[1]) throw new ConfigSyntaxError(origin.file, origin.line, `no name before "${m[2]}" in "${line}"`);
  if (!state.current) throw new ConfigSyntaxError(origin.file, origin.line, `"${m[1]}" outside any [category]`);
  const [, name, op, value] = m as unknown as [string, string, string, string];
  const vars = state.current.variables;
  if (op === '+=') {
    const last = [...vars].reverse().find((v) => v.name === name);
    if (last) {
      // A fresh object: an inherited variable must not change the template's copy.
      vars[vars.lastIndexOf(last)] = { ...last, value: last.value + value, origin, inheritedFrom: undefined };
      return;
    }
  }
  vars.push({ name, value, object: op === '=>', origin });
}

/** The files a `#include` argument names, relative to dir, sorted as glob(3) sorts them. */
function expandGlob(dir: string, pattern: string): string[] {
  const abs = path.isAbsolute(pattern);
  if (!/[*?[]/.test(pattern)) {
    const full = path.resolve(dir, pattern);
    return existsSync(full) && statSync(full).isFile() ? [abs ? full : pattern] : [];
  }
  const parts = pattern.split('/').filter((p, i) => p || i > 0);
  let found = [abs ? '/' : ''];
  for (const part of parts) {
    const next: string[] = [];
    for (const prefix of found) {
      if (!/[*?[]/.test(part)) {
        next.push(path.join(prefix, part));
        continue;
      }
      const re = globRegExp(part);
      const base = path.resolve(dir, prefix || '.');
      if (!existsSync(base) || !statSync(base).isDirectory()) continue;
      for (const e of readdirSync(base).sort()) if (re.test(e) && !e.startsWith('.')) next.push(path.join(prefix, e));
    }
    found = next;
  }
  return found.filter((f) => {
    const full = path.resolve(dir, f);
    return existsSync(full) && statSync(full).isFile();
  });
}

function globRegExp(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re +=
          '[' +
          part
            .slice(i + 1, end)
            .replace(/^!/, '^')
            .replace(/\\/g, '\\\\') +
          ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The last value of `name` in a category (the one that wins for a scalar option). */
export function lastValue(cat: ConfigCategory, name: string): string | undefined {
  for (let i = cat.variables.length - 1; i >= 0; i--) if (cat.variables[i]!.name === name) return cat.variables[i]!.value;
  return undefined;
}
