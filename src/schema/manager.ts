// The live schema: the ordered list of schema sources (the files named in config.yaml, then what
// was added over LDAP) kept as their directives, exactly as written. Every change computes a new
// source list and builds a complete new registry from it; only when that succeeds is the change
// persisted (one meta key, one batch) and the new registry swapped in. A bad definition therefore
// changes nothing, and a restart rebuilds the same registry from the files plus the stored list.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDirective, parseSchemaFile, type SchemaItem } from './parser.js';
import { SchemaError, SchemaRegistry } from './registry.js';

export type DirectiveKind = 'objectidentifier' | 'attributetype' | 'objectclass';

export interface Directive {
  kind: DirectiveKind;
  /** `name oid` for objectidentifier, the parenthesised description otherwise. */
  text: string;
}

export interface SchemaSourceText {
  name: string;
  directives: Directive[];
  /** 'file' for config.yaml's files (possibly modified over LDAP), 'ldap' for added ones. */
  origin: 'file' | 'ldap';
  /** True when a file source was changed over LDAP (then the stored copy wins). */
  modified?: boolean;
}

/** Meta key holding the sources added or changed over LDAP. */
export const SCHEMA_META_KEY = 'schema:sources';

export function directivesOf(items: SchemaItem[]): Directive[] {
  return items.map((it) =>
    it.kind === 'objectidentifier' ? { kind: it.kind, text: `${it.name} ${it.oid}` } : { kind: it.kind, text: it.text },
  );
}

export function parseDirectives(ds: Directive[]): SchemaItem[] {
  return ds.map((d) => parseDirective(`${d.kind} ${d.text}`));
}

/** Builds a registry from sources in order; throws SchemaError naming the offending source. */
export function buildRegistry(sources: SchemaSourceText[]): SchemaRegistry {
  const r = SchemaRegistry.create();
  for (const s of sources) {
    let items: SchemaItem[];
    try {
      items = parseDirectives(s.directives);
    } catch (err) {
      throw new SchemaError(`${s.name}: ${(err as Error).message}`, true);
    }
    r.loadItems(items, s.name);
  }
  return r;
}

/** Reads the configured schema files. */
export function fileSources(dir: string, files: string[]): SchemaSourceText[] {
  return files.map((f) => {
    const file = path.resolve(dir, f.endsWith('.schema') ? f : `${f}.schema`);
    const name = path.basename(file, '.schema');
    let items: SchemaItem[];
    try {
      items = parseSchemaFile(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new SchemaError(`${file}: ${(err as Error).message}`, true);
    }
    return { name, directives: directivesOf(items), origin: 'file' as const };
  });
}

/** Files first (a stored modified copy replaces its file), then sources added over LDAP. */
export function mergeStored(files: SchemaSourceText[], stored: SchemaSourceText[]): SchemaSourceText[] {
  const out = files.map((f) => stored.find((s) => s.origin === 'file' && s.modified && s.name === f.name) ?? f);
  for (const s of stored) if (s.origin === 'ldap') out.push(s);
  return out;
}

/** What is persisted: only what differs from the files. */
export function storedPart(sources: SchemaSourceText[]): SchemaSourceText[] {
  return sources.filter((s) => s.origin === 'ldap' || s.modified);
}
