// Modify DN (RFC 4511 §4.9): new RDN, deleteOldRDN and newSuperior; a subtree moves with its
// entry. The old and new keys of every moved entry change in one batch.

import { LdapError, ResultCode } from '../errors.js';
import { formatDn, prettyDn } from '../schema/dn.js';
import { valueKey } from './entry-build.js';
import { success, type Directory } from './directory.js';
import type { EntryWrite } from '../store/types.js';
import { checkAssertion, OID_POST_READ, OID_PRE_READ, readEntryControl, readRequests, validateAssertion } from './controls.js';
import type { Control, LdapResult, ModifyDNRequest, OperationContext } from './requests.js';

export async function modifyDN(dir: Directory, ctx: OperationContext, req: ModifyDNRequest): Promise<LdapResult> {
  const schema = dir.schema;
  const ndn = dir.normalize(req.dn);
  if (dir.configTree.isConfig(ndn) || ndn === dir.subschemaNdn) {
    dir.configTree.requireAccess(ctx.session, true);
    throw new LdapError(ResultCode.unwillingToPerform, 'cn=config entries cannot be renamed');
  }
  const rdns = dir.parse(req.dn);
  if (rdns.length === 0) throw new LdapError(ResultCode.unwillingToPerform, 'cannot rename the root DSE');
  const newRdnParsed = dir.parse(req.newRdn);
  if (newRdnParsed.length !== 1) throw new LdapError(ResultCode.invalidDNSyntax, 'invalid new RDN');
  const newRdn = newRdnParsed[0]!;
  for (const ava of newRdn) {
    if (!schema.attributeType(ava.type)) throw new LdapError(ResultCode.undefinedAttributeType, `${ava.type}: attribute type undefined`);
  }
  dir.access.requireWrite(ctx.session, req.dn);
  validateAssertion(ctx);
  const reads = readRequests(ctx);

  const oldParentDn = formatDn(rdns.slice(1));
  const parentDn = req.newSuperior !== undefined ? req.newSuperior : oldParentDn;
  const parentNdn = req.newSuperior !== undefined ? dir.normalize(req.newSuperior) : ndn.slice(ndn.indexOf(',') + 1);
  const newDn = prettyDn(parentDn === '' ? req.newRdn : `${req.newRdn},${parentDn}`);
  const newNdn = dir.normalize(newDn);

  return dir.exclusive(async () => {
    const old = await dir.getEntry(ndn);
    checkAssertion(dir, ctx, { dn: old.dn, ndn, rec: old });
    if (req.newSuperior !== undefined) {
      if (parentNdn !== '' && !(await dir.store.get(parentNdn))) {
        throw new LdapError(ResultCode.noSuchObject, 'newSuperior does not exist', await dir.matchedDn(parentNdn));
      }
      if (parentNdn === ndn || parentNdn.endsWith(',' + ndn)) {
        throw new LdapError(ResultCode.unwillingToPerform, 'newSuperior is the entry or one of its subordinates');
      }
    }
    if (!dir.inNamingContext(newNdn)) throw new LdapError(ResultCode.unwillingToPerform, 'no global superior knowledge');
    if (newNdn !== ndn && (await dir.store.get(newNdn))) throw new LdapError(ResultCode.entryAlreadyExists, 'Already exists');

    const attrs: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(old.attrs)) attrs[k] = [...v];
    const newKeys = new Set(newRdn.map((ava) => `${schema.attributeType(ava.type)!.key}=${valueKey(schema.attributeType(ava.type)!, ava.value)}`));
    if (req.deleteOldRdn) {
      for (const ava of rdns[0]!) {
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
    schema.checkEntry(attrs);
    dir.stampModify(attrs, ctx.session.bindDn);

    const controls: Control[] = [];
    if (reads.pre) controls.push(await readEntryControl(dir, ctx, OID_PRE_READ, reads.pre, { dn: old.dn, ndn, rec: old }));
    const writes: EntryWrite[] = [];
    if (newNdn === ndn) {
      writes.push({ ndn, old, new: { dn: newDn, attrs } });
    } else {
      writes.push({ ndn, old }, { ndn: newNdn, new: { dn: newDn, attrs } });
      // Descendants keep their RDNs; only the tail of their DN changes.
      for await (const [childNdn, rec] of dir.store.subtree(ndn)) {
        if (childNdn === ndn) continue;
        const relN = childNdn.slice(0, childNdn.length - ndn.length);
        const childRdns = dir.parse(rec.dn);
        const relDn = formatDn(childRdns.slice(0, childRdns.length - rdns.length));
        writes.push({ ndn: childNdn, old: rec }, { ndn: relN + newNdn, new: { dn: `${relDn},${newDn}`, attrs: rec.attrs } });
      }
    }
    await dir.write({ entries: writes });
    if (reads.post) controls.push(await readEntryControl(dir, ctx, OID_POST_READ, reads.post, { dn: newDn, ndn: newNdn, rec: { dn: newDn, attrs } }));
    return controls.length ? { ...success(), controls } : success();
  });
}
