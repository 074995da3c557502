// Modify (RFC 4511 §4.6, increment from RFC 4525): the changes are decoded and validated first,
// then applied in order to a copy of the entry, all or nothing, and written through the write
// path (RDN values kept, structural class unchanged, schema check, one batch).

import type { LdapResult, ModifyOperation, ModifyRequest, OperationContext, ResponseControls } from '../ldap/messages.js';
import { LdapError, ResultCode, success } from '../ldap/result.js';
import type { AttributeType } from '../schema/types.js';
import { checkAssertion } from './assertion.js';
import { decodeValue, requireDescription, type AttributeDescription } from './attributes.js';
import type { Directory } from './directory.js';
import { assertUserModifiable, decodeValues, valueKey } from './entry-build.js';
import { readEntry } from './read-entry.js';
import { copyAttributes, type Attributes } from './write.js';

export interface Change {
  op: ModifyOperation;
  d: AttributeDescription & { type: AttributeType; key: string };
  values: string[];
  label: string;
}

export async function modify(dir: Directory, ctx: OperationContext, req: ModifyRequest, ndn: string): Promise<LdapResult> {
  const schema = dir.schema;
  dir.access.requireWrite(
    ctx.session,
    req.dn,
    req.changes.map((c) => schema.attributeType(c.type.split(';')[0]!)?.key ?? c.type.toLowerCase()),
  );
  // Decode and validate outside the lock (hashing passwords may take a while).
  const changes = await decodeChanges(dir, req.changes);

  return dir.writer.transaction(async (tx) => {
    if (ndn === '') throw new LdapError(ResultCode.unwillingToPerform, 'modification of the root DSE not allowed');
    const old = await tx.require(ndn, ctx.session);
    checkAssertion(dir, ctx, { dn: old.dn, ndn, rec: old });
    const attrs = applyChanges(old.attrs, changes);
    const rec = tx.update(ctx.session.bindDn, ndn, old, attrs);
    await tx.commit();
    const controls: ResponseControls = {};
    if (ctx.controls.preRead) controls.preRead = await readEntry(dir, ctx, ctx.controls.preRead, { dn: old.dn, ndn, rec: old });
    if (ctx.controls.postRead) controls.postRead = await readEntry(dir, ctx, ctx.controls.postRead, { dn: old.dn, ndn, rec });
    return controls.preRead || controls.postRead ? { ...success(), controls } : success();
  });
}

/**
 * A modify's changes decoded and checked against the schema (types known and user-modifiable,
 * values of their syntax, new passwords hashed): what every path that modifies an entry applies,
 * the LDAP operation and the LDIF of the admin engine's dynamic roles alike.
 */
export async function decodeChanges(dir: Directory, changes: ModifyRequest['changes']): Promise<Change[]> {
  const out: Change[] = [];
  for (const c of changes) {
    const d = requireDescription(dir.schema, c.type);
    assertUserModifiable(d.type, c.type);
    let values: string[];
    if (c.operation === 'add' || c.operation === 'replace') {
      if (c.operation === 'add' && c.values.length === 0) {
        throw new LdapError(ResultCode.protocolError, `modify/add: ${c.type}: no values given`);
      }
      values = await decodeValues(dir.config.passwordScheme, d.type, c.type, c.values);
    } else values = c.values.map((v) => decodeValue(d.type, v, c.type));
    out.push({ op: c.operation, d, values, label: c.type });
  }
  return out;
}

/** The entry's attributes after `changes`, in order, as RFC 4511 §4.6 applies them (a copy). */
export function applyChanges(attrs: Attributes, changes: readonly Change[]): Attributes {
  const next = copyAttributes(attrs);
  for (const change of changes) applyChange(next, change);
  return next;
}

function applyChange(attrs: Attributes, { op, d, values, label }: Change): void {
  const key = d.key;
  const cur = attrs[key];
  const keyOf = (v: string) => valueKey(d.type, v);
  switch (op) {
    case 'add': {
      const list = cur ?? [];
      const have = new Set(list.map(keyOf));
      values.forEach((v, i) => {
        if (have.has(keyOf(v))) throw new LdapError(ResultCode.attributeOrValueExists, `modify/add: ${label}: value #${i} already exists`);
        list.push(v);
      });
      attrs[key] = list;
      return;
    }
    case 'delete': {
      if (!cur) throw new LdapError(ResultCode.noSuchAttribute, `modify/delete: ${label}: no such attribute`);
      if (values.length === 0) {
        delete attrs[key];
        return;
      }
      let list = cur;
      for (const v of values) {
        const k = keyOf(v);
        const i = list.findIndex((x) => keyOf(x) === k);
        if (i < 0) throw new LdapError(ResultCode.noSuchAttribute, `modify/delete: ${label}: no such value`);
        list = [...list.slice(0, i), ...list.slice(i + 1)];
      }
      if (list.length) attrs[key] = list;
      else delete attrs[key];
      return;
    }
    case 'replace':
      if (values.length) attrs[key] = values;
      else delete attrs[key];
      return;
    case 'increment': {
      if (!cur) throw new LdapError(ResultCode.noSuchAttribute, `modify/increment: ${label}: no such attribute`);
      if (values.length !== 1) throw new LdapError(ResultCode.protocolError, `modify/increment: ${label}: exactly one value required`);
      if (d.type.syntax.oid !== '1.3.6.1.4.1.1466.115.121.1.27') {
        throw new LdapError(ResultCode.constraintViolation, `modify/increment: ${label}: increment not supported for value syntax`);
      }
      if (!/^-?\d+$/.test(values[0]!)) throw new LdapError(ResultCode.invalidAttributeSyntax, `modify/increment: ${label}: invalid syntax`);
      const by = BigInt(values[0]!);
      attrs[key] = cur.map((v) => (BigInt(v) + by).toString());
      return;
    }
  }
}
