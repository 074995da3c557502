// The attribute changes one rotation makes to one entry, built against the local schema's
// attribute keys: which classes the entry has, whether its classes allow an attribute, and the
// replace/remove list the target applies. Shared by the generic schemas and the Asterisk ones.

import type { SchemaRegistry } from '../../schema/registry.js';

/** An entry's attributes as a target reads them: lowercased names (the local schema's keys). */
export type Attrs = Record<string, string[]>;
/** Attribute changes (schema keys): values replace, null removes. */
export type Changes = Record<string, string[] | null>;

export function isClass(attrs: Attrs, ...names: string[]): boolean {
  const have = new Set((attrs['objectclass'] ?? []).map((v) => v.toLowerCase()));
  return names.some((n) => have.has(n.toLowerCase()));
}

/** Builds the changes of one rotation of one entry. */
export class ChangeBuilder {
  readonly out: Changes = {};

  constructor(
    private readonly schema: SchemaRegistry,
    readonly attrs: Attrs,
  ) {}

  key(name: string): string {
    return this.schema.attributeType(name)?.key ?? name.toLowerCase();
  }

  set(name: string, values: string[] | null): void {
    this.out[this.key(name)] = values;
  }

  has(name: string): boolean {
    return Boolean(this.attrs[this.key(name)]?.length);
  }

  first(name: string): string | undefined {
    return this.attrs[this.key(name)]?.[0];
  }

  /** Removes the attribute when the entry has it (a stale secret must not survive a rotation). */
  drop(name: string): void {
    if (this.has(name)) this.set(name, null);
  }

  /** Whether the entry's object classes allow the attribute (or it is there already). */
  allows(name: string): boolean {
    const key = this.key(name);
    if (this.attrs[key]?.length) return true;
    for (const oc of this.attrs['objectclass'] ?? []) {
      const c = this.schema.objectClass(oc);
      if (c && [...c.allMust, ...c.allMay].some((t) => t.key === key)) return true;
    }
    return false;
  }

  /** userPassword, with simpleSecurityObject (auxiliary, it brings userPassword) when the classes lack it. */
  userPassword(value: string): void {
    if (!this.allows('userPassword')) this.set('objectClass', [...(this.attrs['objectclass'] ?? []), 'simpleSecurityObject']);
    this.set('userPassword', [value]);
  }
}
