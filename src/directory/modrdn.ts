// Modify DN (RFC 4511 §4.9): new RDN, deleteOldRDN and newSuperior; a subtree moves with its
// entry. The renamed entry goes through the write path's checks; its descendants keep their
// attributes, and every old and new key changes in one batch.

import type { LdapResult, ModifyDNRequest, OperationContext, ResponseControls } from '../ldap/messages.js';
import { isWithin, parentNdn } from '../ldap/ndn.js';
import { LdapError, ResultCode, success } from '../ldap/result.js';
import { formatDn, prettyDn, type Rdn } from '../schema/dn.js';
import type { SchemaRegistry } from '../schema/registry.js';
import { checkAssertion } from './assertion.js';
import type { Directory } from './directory.js';
import { valueKey } from './entry-build.js';
import { readEntry } from './read-entry.js';
import { copyAttributes, type Attributes, type TransactionRunner } from './write.js';

export async function modifyDN(
  dir: Directory,
  ctx: OperationContext,
  req: ModifyDNRequest,
  ndn: string,
  inTxn?: TransactionRunner,
): Promise<LdapResult> {
  const run: TransactionRunner = inTxn ?? ((fn) => dir.writer.transaction(fn));
  // Alone, on a store that files entries under their parent's ID, the subtree follows its top
  // entry without being read (a 20,000-entry ou in one key; a leaf is renamed as usual). In an LDAP transaction later
  // updates must see the descendants at their new place: each is staged.
  const whole = inTxn === undefined && dir.store.movesSubtrees === true && (await dir.store.hasChildren(ndn));
  const schema = dir.schema;
  const rdns = dir.parse(req.dn);
  if (rdns.length === 0) throw new LdapError(ResultCode.unwillingToPerform, 'cannot rename the root DSE');
  const newRdnParsed = dir.parse(req.newRdn);
  if (newRdnParsed.length !== 1) throw new LdapError(ResultCode.invalidDNSyntax, 'invalid new RDN');
  const newRdn = newRdnParsed[0]!;
  for (const ava of newRdn) {
    if (!schema.attributeType(ava.type)) throw new LdapError(ResultCode.undefinedAttributeType, `${ava.type}: attribute type undefined`);
  }
  dir.access.requireWrite(ctx.session, req.dn);

  const oldParentDn = formatDn(rdns.slice(1));
  const parentDn = req.newSuperior !== undefined ? req.newSuperior : oldParentDn;
  const newParentNdn = req.newSuperior !== undefined ? dir.normalize(req.newSuperior) : parentNdn(ndn);
  const newDn = prettyDn(parentDn === '' ? req.newRdn : `${req.newRdn},${parentDn}`);
  const newNdn = dir.normalize(newDn);

  return run(async (tx) => {
    const old = await tx.require(ndn, ctx.session);
    checkAssertion(dir, ctx, { dn: old.dn, ndn, rec: old });
    if (req.newSuperior !== undefined) {
      if (newParentNdn !== '' && !(await tx.get(newParentNdn))) {
        throw new LdapError(ResultCode.noSuchObject, 'newSuperior does not exist', await dir.matchedDn(newParentNdn, ctx.session));
      }
      if (isWithin(newParentNdn, ndn)) {
        throw new LdapError(ResultCode.unwillingToPerform, 'newSuperior is the entry or one of its subordinates');
      }
    }
    if (!dir.inNamingContext(newNdn)) throw new LdapError(ResultCode.unwillingToPerform, 'no global superior knowledge');
    if (newNdn !== ndn && (await tx.get(newNdn))) throw new LdapError(ResultCode.entryAlreadyExists, 'Already exists');

    const attrs = renamedAttributes(schema, old.attrs, rdns[0]!, newRdn, req.deleteOldRdn);
    const controls: ResponseControls = {};
    if (ctx.controls.preRead) controls.preRead = await readEntry(dir, ctx, ctx.controls.preRead, { dn: old.dn, ndn, rec: old });
    const rec = tx.update(ctx.session.bindDn, ndn, old, attrs, { rename: { ndn: newNdn, dn: newDn, subtree: whole } });
    if (newNdn !== ndn && !whole) {
      // Descendants keep their RDNs; only the tail of their DN changes.
      for await (const [childNdn, child] of tx.subtree(ndn)) {
        if (childNdn === ndn) continue;
        const relN = childNdn.slice(0, childNdn.length - ndn.length);
        const childRdns = dir.parse(child.dn);
        const relDn = formatDn(childRdns.slice(0, childRdns.length - rdns.length));
        tx.move(childNdn, child, relN + newNdn, `${relDn},${newDn}`);
      }
    }
    await tx.commit();
    if (ctx.controls.postRead) controls.postRead = await readEntry(dir, ctx, ctx.controls.postRead, { dn: newDn, ndn: newNdn, rec });
    return controls.preRead || controls.postRead ? { ...success(), controls } : success();
  });
}

/** The entry's attributes after the rename: old RDN values dropped if asked, new ones added. */
function renamedAttributes(schema: SchemaRegistry, current: Attributes, oldRdn: Rdn, newRdn: Rdn, deleteOldRdn: boolean): Attributes {
  const attrs = copyAttributes(current);
  const newKeys = new Set(
    newRdn.map((ava) => `${schema.attributeType(ava.type)!.key}=${valueKey(schema.attributeType(ava.type)!, ava.value)}`),
  );
  if (deleteOldRdn) {
    for (const ava of oldRdn) {
      const t = schema.attributeType(ava.type);
      if (!t) continue;
      const k = valueKey(t, ava.value);
      if (newKeys.has(`${t.key}=${k}`)) continue;
      const list = (attrs[t.key] ?? []).filter((v) => valueKey(t, v) !== k);
      if (list.length) attrs[t.key] = list;
      else delete attrs[t.key];
    }
  }
  for (const ava of newRdn) {
    const t = schema.attributeType(ava.type)!;
    if (t.noUserModification) throw new LdapError(ResultCode.constraintViolation, `${ava.type}: no user modification allowed`);
    if (!t.syntax.validate(ava.value)) throw new LdapError(ResultCode.invalidAttributeSyntax, `${ava.type}: value invalid per syntax`);
    const k = valueKey(t, ava.value);
    const list = attrs[t.key] ?? [];
    if (!list.some((v) => valueKey(t, v) === k)) {
      if (t.singleValue && list.length) {
        throw new LdapError(ResultCode.constraintViolation, `${t.name}: multiple values provided for a single-valued attribute`);
      }
      list.push(ava.value);
    }
    attrs[t.key] = list;
  }
  return attrs;
}
