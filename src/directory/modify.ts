// Modify (RFC 4511 §4.6, increment from RFC 4525): applies the changes in order to a copy of the
// entry, all or nothing; then the schema check, the RDN and structural-class rules, one batch.

import { LdapError, ResultCode } from '../errors.js';
import { decodeValue, requireDescription } from './attributes.js';
import { assertUserModifiable, decodeValues, valueKey } from './entry-build.js';
import { success, type Directory } from './directory.js';
import { checkAssertion, OID_POST_READ, OID_PRE_READ, readEntryControl, readRequests, validateAssertion } from './controls.js';
import type { Control, LdapResult, ModifyOperation, ModifyRequest, OperationContext } from './requests.js';
import type { AttributeDescription } from './attributes.js';
import type { AttributeType } from '../schema/types.js';

export async function modify(dir: Directory, ctx: OperationContext, req: ModifyRequest): Promise<LdapResult> {
  const ndn = dir.normalize(req.dn);
  const rdns = dir.parse(req.dn);
  if (dir.configTree.isConfig(ndn)) return dir.configTree.modify(ctx, req, ndn);
  if (ndn === dir.subschemaNdn) return dir.configTree.modifySubschema(ctx, req);
  dir.access.requireWrite(ctx.session, req.dn, req.changes.map((c) => dir.schema.attributeType(c.type.split(';')[0]!)?.key ?? c.type.toLowerCase()));
  const schema = dir.schema;
  // Decode and validate outside the lock (hashing passwords may take a while).
  const changes: Array<{ op: ModifyOperation; d: AttributeDescription & { type: AttributeType; key: string }; values: string[]; label: string }> = [];
  for (const c of req.changes) {
    const d = requireDescription(schema, c.type);
    assertUserModifiable(d.type, c.type);
    let values: string[];
    if (c.operation === 'add' || c.operation === 'replace') {
      if (c.operation === 'add' && c.values.length === 0) {
        throw new LdapError(ResultCode.protocolError, `modify/add: ${c.type}: no values given`);
      }
      values = await decodeValues(dir, d.type, c.type, c.values);
    } else values = c.values.map((v) => decodeValue(d.type, v, c.type));
    changes.push({ op: c.operation, d, values, label: c.type });
  }

  validateAssertion(ctx);
  const reads = readRequests(ctx);

  return dir.exclusive(async () => {
    if (ndn === '') throw new LdapError(ResultCode.unwillingToPerform, 'modification of the root DSE not allowed');
    const old = await dir.getEntry(ndn);
    checkAssertion(dir, ctx, { dn: old.dn, ndn, rec: old });
    const attrs: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(old.attrs)) attrs[k] = [...v];

    for (const { op, d, values, label } of changes) {
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
          break;
        }
        case 'delete': {
          if (!cur) throw new LdapError(ResultCode.noSuchAttribute, `modify/delete: ${label}: no such attribute`);
          if (values.length === 0) {
            delete attrs[key];
            break;
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
          break;
        }
        case 'replace':
          if (values.length) attrs[key] = values;
          else delete attrs[key];
          break;
        case 'increment': {
          if (!cur) throw new LdapError(ResultCode.noSuchAttribute, `modify/increment: ${label}: no such attribute`);
          if (values.length !== 1) throw new LdapError(ResultCode.protocolError, `modify/increment: ${label}: exactly one value required`);
          if (d.type.syntax.oid !== '1.3.6.1.4.1.1466.115.121.1.27') {
            throw new LdapError(ResultCode.constraintViolation, `modify/increment: ${label}: increment not supported for value syntax`);
          }
          if (!/^-?\d+$/.test(values[0]!)) throw new LdapError(ResultCode.invalidAttributeSyntax, `modify/increment: ${label}: invalid syntax`);
          const by = BigInt(values[0]!);
          attrs[key] = cur.map((v) => (BigInt(v) + by).toString());
          break;
        }
      }
    }

    for (const ava of rdns[0] ?? []) {
      const type = schema.attributeType(ava.type);
      if (!type) continue;
      const want = valueKey(type, ava.value);
      if (!(attrs[type.key] ?? []).some((v) => valueKey(type, v) === want)) {
        throw new LdapError(ResultCode.notAllowedOnRDN, `value of naming attribute '${type.name}' is not present in entry`);
      }
    }
    // A changed structural class is refused before anything else is checked, as slapd does.
    const prevStructural = old.attrs['structuralobjectclass']?.[0];
    const nextStructural = schema.structuralClass(attrs['objectclass'] ?? []);
    if (prevStructural && nextStructural && schema.objectClass(prevStructural)?.key !== nextStructural.key) {
      throw new LdapError(
        ResultCode.objectClassModsProhibited,
        `structural object class modification from '${prevStructural}' to '${nextStructural.name}' not allowed`,
      );
    }
    schema.checkEntry(attrs);
    dir.stampModify(attrs, ctx.session.bindDn);
    await dir.write({ entries: [{ ndn, old, new: { dn: old.dn, attrs } }] });
    const controls: Control[] = [];
    if (reads.pre) controls.push(await readEntryControl(dir, ctx, OID_PRE_READ, reads.pre, { dn: old.dn, ndn, rec: old }));
    if (reads.post) controls.push(await readEntryControl(dir, ctx, OID_POST_READ, reads.post, { dn: old.dn, ndn, rec: { dn: old.dn, attrs } }));
    return controls.length ? { ...success(), controls } : success();
  });
}
