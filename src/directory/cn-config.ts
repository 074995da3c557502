// cn=config, as far as schema goes: `cn=schema,cn=config` and one `cn={N}name,cn=schema,cn=config`
// entry per schema source, shown the way slapd shows them (X-ORDERED values), writable the way
// slapd's are: `ldapadd` of an olcSchemaConfig entry (the stock asterisk.ldif works verbatim),
// modify of its olcObjectIdentifier / olcAttributeTypes / olcObjectClasses, and the RFC 4512
// way, modify of cn=Subschema's attributeTypes / objectClasses. Every change is validated by
// building a complete new registry first; it then persists in one batch and applies at once.

import { LdapError, ResultCode, success } from '../ldap/result.js';
import type { AddRequest, LdapResult, ModifyRequest, OperationContext, Session } from '../ldap/messages.js';
import { isWithin, parentNdn } from '../ldap/ndn.js';
import { SchemaError, SchemaRegistry } from '../schema/registry.js';
import { parseAttributeType, parseObjectClass, stripOrdinal } from '../schema/parser.js';
import {
  buildRegistry,
  SCHEMA_META_KEY,
  storedPart,
  type Directive,
  type DirectiveKind,
  type SchemaSourceText,
} from '../schema/manager.js';
import type { EntryRecord } from '../store/types.js';
import { checkAssertion } from './assertion.js';
import type { Directory } from './directory.js';
import { scopeTest, type SearchSource } from './search/collect.js';
import type { WriteTransaction } from './write.js';

export const CONFIG_DN = 'cn=config';
export const SCHEMA_CONFIG_DN = 'cn=schema,cn=config';

const KIND_OF_ATTR: Record<string, DirectiveKind> = {
  olcobjectidentifier: 'objectidentifier',
  olcattributetypes: 'attributetype',
  olcobjectclasses: 'objectclass',
};
const ATTR_OF_KIND: Record<DirectiveKind, string> = {
  objectidentifier: 'olcObjectIdentifier',
  attributetype: 'olcAttributeTypes',
  objectclass: 'olcObjectClasses',
};
const KIND_ORDER: DirectiveKind[] = ['objectidentifier', 'attributetype', 'objectclass'];

export interface ConfigEntry {
  dn: string;
  ndn: string;
  rec: EntryRecord;
}

const utf8 = (b: Buffer) => b.toString('utf8');
const ordered = (vals: string[]) => vals.map((v, i) => `{${i}}${v}`);

/** Sorts X-ORDERED values by their {N} prefix when they carry one, and strips it. */
function unordered(values: string[]): string[] {
  const withIdx = values.map((v, i) => {
    const m = /^\{([0-9]+)\}/.exec(v);
    return { i: m ? Number(m[1]) : i + 0.5, v: stripOrdinal(v).trim() };
  });
  return withIdx.sort((a, b) => a.i - b.i).map((x) => x.v);
}

function collapse(v: string): string {
  return v.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** True for cn=config and everything below it. */
export function isConfigDn(ndn: string): boolean {
  return isWithin(ndn, CONFIG_DN);
}

export class ConfigTree {
  constructor(private readonly dir: Directory) {}

  /** The live schema sources, in load order. */
  private get sources(): SchemaSourceText[] {
    return this.dir.schemaSources;
  }

  /** A search below cn=config: the administrators' view of the synthetic entries. */
  readonly source: SearchSource = async (dir, ctx, plan, results) => {
    this.requireAccess(ctx.session, false);
    const entries = this.entries();
    const base = entries.find((e) => e.ndn === plan.baseNdn);
    if (!base) {
      const parent = entries.find((e) => e.ndn === parentNdn(plan.baseNdn));
      throw new LdapError(ResultCode.noSuchObject, '', parent?.dn ?? '');
    }
    checkAssertion(dir, ctx, base);
    const inScope = scopeTest(plan.scope, plan.baseNdn);
    for (const e of entries) if (inScope(e.ndn)) await results.emit(e);
  };

  /** May this session read or write cn=config? The administrator and the ldapi root identity. */
  requireAccess(session: Session, write: boolean): void {
    if (this.dir.isAdmin(session)) return;
    if (write) throw new LdapError(ResultCode.insufficientAccessRights, 'no write access to cn=config');
    throw new LdapError(ResultCode.noSuchObject, '');
  }

  private sourceDn(i: number): string {
    return `cn={${i}}${this.sources[i]!.name},${SCHEMA_CONFIG_DN}`;
  }

  /** The synthetic entries, parents first. */
  entries(): ConfigEntry[] {
    const mk = (dn: string, attrs: Record<string, string[]>): ConfigEntry => ({
      dn,
      ndn: this.dir.normalize(dn),
      rec: { dn, attrs: { ...attrs, structuralobjectclass: [attrs['objectclass']![0]!] } },
    });
    const out: ConfigEntry[] = [mk(CONFIG_DN, { objectclass: ['olcGlobal'], cn: ['config'] })];
    const builtin = this.dir.schema.sources().find((s) => s.name === 'builtin');
    const schemaAttrs: Record<string, string[]> = { objectclass: ['olcSchemaConfig'], cn: ['schema'] };
    if (builtin) {
      if (builtin.attributeTypes.length) schemaAttrs['olcattributetypes'] = ordered(builtin.attributeTypes.map((t) => t.definition));
      if (builtin.objectClasses.length) schemaAttrs['olcobjectclasses'] = ordered(builtin.objectClasses.map((c) => c.definition));
    }
    out.push(mk(SCHEMA_CONFIG_DN, schemaAttrs));
    this.sources.forEach((s, i) => {
      const attrs: Record<string, string[]> = { objectclass: ['olcSchemaConfig'], cn: [`{${i}}${s.name}`] };
      for (const kind of KIND_ORDER) {
        const vals = s.directives.filter((d) => d.kind === kind).map((d) => d.text);
        if (vals.length) attrs[ATTR_OF_KIND[kind].toLowerCase()] = ordered(vals);
      }
      out.push(mk(this.sourceDn(i), attrs));
    });
    return out;
  }

  // ---- add ---------------------------------------------------------------------------------

  async add(ctx: OperationContext, req: AddRequest, ndn: string): Promise<LdapResult> {
    this.requireAccess(ctx.session, true);
    const rdns = this.dir.parse(req.dn);
    const schemaNdn = this.dir.normalize(SCHEMA_CONFIG_DN);
    if (ndn === CONFIG_DN || ndn === schemaNdn) throw new LdapError(ResultCode.entryAlreadyExists, 'Already exists');
    if (parentNdn(ndn) !== schemaNdn) {
      throw new LdapError(ResultCode.unwillingToPerform, 'only schema entries (olcSchemaConfig) can be added below cn=config');
    }
    const rdn = rdns[0]!;
    if (rdn.length !== 1 || rdn[0]!.type.toLowerCase() !== 'cn')
      throw new LdapError(ResultCode.namingViolation, 'schema entries are named by cn');
    const name = stripOrdinal(rdn[0]!.value).trim();
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new LdapError(ResultCode.invalidDNSyntax, `invalid schema name "${name}"`);

    const byKind: Record<DirectiveKind, string[]> = { objectidentifier: [], attributetype: [], objectclass: [] };
    let isSchemaConfig = false;
    for (const a of req.attributes) {
      const k = a.type.toLowerCase();
      const vals = a.values.map(utf8);
      if (k === 'objectclass') {
        isSchemaConfig = vals.some((v) => v.trim().toLowerCase() === 'olcschemaconfig');
        continue;
      }
      if (k === 'cn') continue;
      const kind = KIND_OF_ATTR[k];
      if (!kind) {
        if (k === 'olcldapsyntaxes' || k === 'olcditcontentrules') {
          throw new LdapError(ResultCode.unwillingToPerform, `${a.type}: not supported by this server`);
        }
        throw new LdapError(ResultCode.objectClassViolation, `attribute '${a.type}' not allowed`);
      }
      byKind[kind].push(...unordered(vals));
    }
    if (!isSchemaConfig) throw new LdapError(ResultCode.objectClassViolation, 'schema entries must be of class olcSchemaConfig');
    const directives: Directive[] = KIND_ORDER.flatMap((kind) => byKind[kind].map((text) => ({ kind, text: text.trim() })));

    return this.dir.writer.transaction(async (tx) => {
      // Built under a name of its own, so what this entry contributes can be told apart from an
      // existing source of the same name.
      const probe = `${name}#new`; // '#' never occurs in a schema name
      const next = [...this.sources, { name: probe, directives, origin: 'ldap' as const }];
      const registry = this.build(next);
      // Definitions identical to loaded ones are skipped by the registry; keep only what is new.
      const added = registry.sources().find((s) => s.name === probe);
      const newNames = new Set([...(added?.attributeTypes ?? []), ...(added?.objectClasses ?? [])].map((x) => x.oid));
      const kept = directives.filter((d) => d.kind === 'objectidentifier' || newNames.has(this.oidOf(registry, d) ?? ''));
      if (!kept.some((d) => d.kind !== 'objectidentifier')) return success(); // identical schema: idempotent
      next[next.length - 1] = { name, directives: kept, origin: 'ldap' };
      this.commit(tx, next, this.build(next));
      return success();
    });
  }

  // ---- modify ------------------------------------------------------------------------------

  async modify(ctx: OperationContext, req: ModifyRequest, ndn: string): Promise<LdapResult> {
    this.requireAccess(ctx.session, true);
    return this.dir.writer.transaction(async (tx) => {
      const idx = this.entries().findIndex((e) => e.ndn === ndn);
      if (idx < 0) throw new LdapError(ResultCode.noSuchObject, '', await this.matched(ndn));
      const sourceIndex = idx - 2; // cn=config, cn=schema,cn=config come first
      if (sourceIndex < 0) throw new LdapError(ResultCode.unwillingToPerform, 'this entry cannot be modified');
      const src = this.sources[sourceIndex]!;
      let directives = [...src.directives];
      for (const c of req.changes) {
        const kind = KIND_OF_ATTR[c.type.toLowerCase()];
        if (!kind) throw new LdapError(ResultCode.unwillingToPerform, `${c.type}: cannot be modified here`);
        const values = c.values.map(utf8);
        const ofKind = directives.filter((d) => d.kind === kind);
        const others = directives.filter((d) => d.kind !== kind);
        let list = ofKind.map((d) => d.text);
        if (c.operation === 'add') {
          for (const v of values) {
            const m = /^\{([0-9]+)\}/.exec(v);
            const text = stripOrdinal(v).trim();
            if (m && Number(m[1]) <= list.length) list.splice(Number(m[1]), 0, text);
            else list.push(text);
          }
        } else if (c.operation === 'replace') {
          list = unordered(values);
        } else if (c.operation === 'delete') {
          if (!values.length) list = [];
          for (const v of values) {
            const m = /^\{([0-9]+)\}\s*$/.exec(v);
            let at = -1;
            if (m) at = Number(m[1]) < list.length ? Number(m[1]) : -1;
            else {
              const want = collapse(stripOrdinal(v));
              at = list.findIndex((x) => collapse(x) === want);
            }
            if (at < 0) throw new LdapError(ResultCode.noSuchAttribute, `${c.type}: no such value`);
            list.splice(at, 1);
          }
        } else throw new LdapError(ResultCode.unwillingToPerform, `${c.operation} not supported on ${c.type}`);
        directives = [...others, ...list.map((text) => ({ kind, text }))];
        directives.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
      }
      const next = [...this.sources];
      next[sourceIndex] = { ...src, directives, ...(src.origin === 'file' ? { modified: true } : {}) };
      const registry = this.build(next);
      await this.checkUnused(registry);
      this.commit(tx, next, registry);
      return success();
    });
  }

  /** RFC 4512 §4.1: attributeTypes / objectClasses values added to or deleted from cn=Subschema. */
  async modifySubschema(ctx: OperationContext, req: ModifyRequest): Promise<LdapResult> {
    this.requireAccess(ctx.session, true);
    return this.dir.writer.transaction(async (tx) => {
      let next = this.sources.map((s) => ({ ...s, directives: [...s.directives] }));
      for (const c of req.changes) {
        const t = c.type.toLowerCase();
        const kind: DirectiveKind | undefined =
          t === 'attributetypes' ? 'attributetype' : t === 'objectclasses' ? 'objectclass' : undefined;
        if (!kind) throw new LdapError(ResultCode.unwillingToPerform, `${c.type}: cannot be modified in the subschema entry`);
        const values = c.values.map(utf8).map((v) => v.trim());
        if (c.operation === 'add') {
          let own = next.find((s) => s.name === 'subschema' && s.origin === 'ldap');
          if (!own) {
            own = { name: 'subschema', directives: [], origin: 'ldap' };
            next.push(own);
          }
          own.directives.push(...values.map((text) => ({ kind, text })));
          own.directives.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
        } else if (c.operation === 'delete') {
          if (!values.length) throw new LdapError(ResultCode.unwillingToPerform, `${c.type}: name the definitions to delete`);
          for (const v of values) {
            let oid: string;
            try {
              oid = (kind === 'attributetype' ? parseAttributeType(v) : parseObjectClass(v)).oid;
            } catch (err) {
              throw new LdapError(ResultCode.invalidAttributeSyntax, `${c.type}: ${(err as Error).message}`);
            }
            let found = false;
            for (const s of next) {
              const before = s.directives.length;
              s.directives = s.directives.filter((d) => d.kind !== kind || this.oidOf(this.dir.schema, d) !== oid);
              if (s.directives.length !== before) {
                found = true;
                if (s.origin === 'file') s.modified = true;
              }
            }
            if (!found) throw new LdapError(ResultCode.noSuchAttribute, `${c.type}: no definition with OID ${oid}`);
          }
        } else throw new LdapError(ResultCode.unwillingToPerform, `${c.operation} not supported on ${c.type}`);
      }
      next = next.filter((s) => s.origin === 'file' || s.directives.length > 0);
      const registry = this.build(next);
      await this.checkUnused(registry);
      this.commit(tx, next, registry);
      return success();
    });
  }

  // ---- helpers -----------------------------------------------------------------------------

  private build(sources: SchemaSourceText[]): SchemaRegistry {
    try {
      return buildRegistry(sources);
    } catch (err) {
      // As slapd answers: a definition that does not parse or does not resolve (unknown SUP or
      // syntax, duplicate OID or name) is `other`, with the reason in the message.
      if (err instanceof SchemaError) throw new LdapError(ResultCode.other, err.message.replace('#new:', ':'));
      throw err;
    }
  }

  /** The resolved OID of an attribute type or object class directive, via its name or OID. */
  private oidOf(registry: SchemaRegistry, d: Directive): string | undefined {
    try {
      const def = d.kind === 'attributetype' ? parseAttributeType(d.text) : d.kind === 'objectclass' ? parseObjectClass(d.text) : undefined;
      if (!def) return undefined;
      const look = (n: string) => (d.kind === 'attributetype' ? registry.attributeType(n) : registry.objectClass(n));
      return (def.names[0] ? look(def.names[0]) : look(def.oid))?.oid ?? (/^[0-9.]+$/.test(def.oid) ? def.oid : undefined);
    } catch {
      return undefined;
    }
  }

  /**
   * Refuses removing a type or class that stored entries still use. A class is looked up in the
   * objectClass equality index when there is one (a synchronous read of its posting list, instead
   * of reading every entry while writes wait); attribute types, and classes without that index,
   * need the scan.
   */
  private async checkUnused(next: SchemaRegistry): Promise<void> {
    const cur = this.dir.schema;
    const goneTypes = cur.attributeTypes().filter((t) => !next.attributeType(t.oid));
    const goneClasses = cur.objectClasses().filter((c) => !next.objectClass(c.oid));
    if (!goneTypes.length && !goneClasses.length) return;
    const store = this.dir.store;
    const indexed = store.indexes.get('objectclass')?.eq === true;
    if (indexed) {
      for (const c of goneClasses) {
        // The indexer stores a known class by its key; a value written while the class was
        // unknown (relaxed mode) is kept lowercased as it was spelled: a name or the OID.
        for (const v of new Set([c.key, c.oid, ...c.names.map((n) => n.toLowerCase())])) {
          if (store.equalitySize('objectclass', v) > 0) throw inUse('objectClass', c.name);
        }
      }
      if (!goneTypes.length) return;
    }
    const typeKeys = new Set(goneTypes.map((t) => t.key));
    const classKeys = new Set(indexed ? [] : goneClasses.flatMap((c) => [c.key, ...c.names.map((n) => n.toLowerCase())]));
    for await (const [, rec] of store.subtree('')) {
      for (const k of Object.keys(rec.attrs)) {
        const base = k.split(';')[0]!;
        if (typeKeys.has(base)) throw inUse('attribute type', goneTypes.find((t) => t.key === base)!.name);
      }
      if (!classKeys.size) continue;
      for (const v of rec.attrs['objectclass'] ?? []) {
        if (classKeys.has(v.toLowerCase())) throw inUse('objectClass', v);
      }
    }
  }

  /** Stores the new sources in the transaction's batch; the registry applies once it is durable. */
  private commit(tx: WriteTransaction, next: SchemaSourceText[], registry: SchemaRegistry): void {
    tx.setMeta(SCHEMA_META_KEY, JSON.stringify(storedPart(next)));
    tx.afterCommit(() => {
      this.dir.applySchema(next, registry);
      this.dir.log.info('schema changed over LDAP; applied to every connection');
    });
  }

  private async matched(ndn: string): Promise<string> {
    const entries = this.entries();
    for (let cur = ndn; cur.includes(',');) {
      cur = cur.slice(cur.indexOf(',') + 1);
      const e = entries.find((x) => x.ndn === cur);
      if (e) return e.dn;
    }
    return '';
  }
}

function inUse(what: string, name: string): LdapError {
  return new LdapError(ResultCode.unwillingToPerform, `${what} ${name} is still used by entries`);
}
