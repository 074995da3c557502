// Modify (RFC 4511 §4.6, increment from RFC 4525): the changes are decoded and validated first,
// then applied in order to a copy of the entry, all or nothing, and written through the write
// path (RDN values kept, structural class unchanged, schema check, one batch). A change of
// userPassword passes the password policy first (ppolicy.ts), as slapd's ppolicy_modify.

import { verifyPassword } from '../access/passwords.js';
import {
  PasswordPolicyError,
  type LdapResult,
  type ModifyOperation,
  type ModifyRequest,
  type OperationContext,
  type ResponseControls,
} from '../ldap/messages.js';
import type { EntryRecord } from '../store/types.js';
import { LdapError, ResultCode, success } from '../ldap/result.js';
import type { AttributeType } from '../schema/types.js';
import { checkAssertion } from './assertion.js';
import { decodeValue, requireDescription, type AttributeDescription } from './attributes.js';
import type { Directory } from './directory.js';
import { assertUserModifiable, decodeValues, valueKey } from './entry-build.js';
import {
  checkChange,
  PASSWORD_KEY,
  type PasswordPolicy,
  policyControl,
  policyError,
  policyFor,
  recordChange,
  requireUnrestricted,
} from './ppolicy.js';
import { readEntry } from './read-entry.js';
import { copyAttributes, type Attributes, type TransactionRunner, type WriteTransaction } from './write.js';

export interface Change {
  op: ModifyOperation;
  d: AttributeDescription & { type: AttributeType; key: string };
  values: string[];
  label: string;
}

export async function modify(
  dir: Directory,
  ctx: OperationContext,
  req: ModifyRequest,
  ndn: string,
  run: TransactionRunner = (fn) => dir.writer.transaction(fn),
): Promise<LdapResult> {
  const schema = dir.schema;
  const pwChanges = req.changes.filter((c) => schema.attributeType(c.type.split(';')[0]!)?.key === PASSWORD_KEY);
  // A session bound with a reset password may change passwords and nothing else (slapd lets it
  // change any the ACLs let it write, as Password Modify does).
  if (ctx.session.mustChangePassword && pwChanges.length !== req.changes.length) requireUnrestricted(ctx);
  dir.access.requireWrite(
    ctx.session,
    req.dn,
    req.changes.map((c) => schema.attributeType(c.type.split(';')[0]!)?.key ?? c.type.toLowerCase()),
  );
  // Decode and validate outside the lock (hashing passwords may take a while).
  const decoded = await decodeChanges(dir, req.changes);

  return run(async (tx) => {
    // A copy: the password checks replace values, and a transaction's update runs twice (checked, then committed).
    const changes = decoded.map((c) => ({ ...c }));
    if (ndn === '') throw new LdapError(ResultCode.unwillingToPerform, 'modification of the root DSE not allowed');
    const old = await tx.require(ndn, ctx.session);
    checkAssertion(dir, ctx, { dn: old.dn, ndn, rec: old });
    const policy = pwChanges.length ? await passwordPolicyChecks(dir, ctx, tx, ndn, old, pwChanges, changes) : undefined;
    const attrs = applyChanges(old.attrs, changes);
    if (policy) recordChange(dir, policy, old, attrs, ndn, ctx.session);
    const rec = tx.update(ctx.session.bindDn, ndn, old, attrs);
    // Once durable (in an LDAP transaction: at its commit, not when the change is queued).
    if (policy && ndn === ctx.session.bindNdn && attrs[PASSWORD_KEY]?.length)
      tx.afterCommit(() => (ctx.session.mustChangePassword = false));
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

/**
 * The password policy's checks of a modify that changes userPassword (slapd's ppolicy_modify):
 * one new value at most, a deleted old value verified against the stored one (and replaced by
 * it, so that a cleartext old password deletes its hash). Returns the policy, if one applies.
 */
async function passwordPolicyChecks(
  dir: Directory,
  ctx: OperationContext,
  tx: WriteTransaction,
  ndn: string,
  old: EntryRecord,
  pwChanges: ModifyRequest['changes'],
  changes: Change[],
): Promise<PasswordPolicy | undefined> {
  const policy = await policyFor(dir, old.attrs, (n) => tx.get(n));
  if (!policy) return undefined;
  const adds = pwChanges.filter((c) => c.operation === 'add' || c.operation === 'replace');
  const newValues = adds.flatMap((c) => c.values);
  if (newValues.length > 1) {
    // slapd's refusal here carries the control, empty (ppolicy_modify's common exit).
    throw new LdapError(ResultCode.constraintViolation, 'Password policy only allows one password value').with(policyControl(ctx, {}));
  }
  const delIndex = pwChanges.findIndex((c) => c.operation === 'delete' && c.values.length > 0);
  const addIndex = pwChanges.findIndex((c) => c.operation === 'add' || c.operation === 'replace');
  const oldGiven = delIndex >= 0 && addIndex > delIndex;
  // The old value deleted is checked against the stored one and replaced by it, so that a
  // cleartext old password deletes its hash.
  const verifyOld = async (): Promise<void> => {
    if (delIndex < 0) return;
    const stored = old.attrs[PASSWORD_KEY] ?? [];
    const matched: string[] = [];
    for (const g of pwChanges[delIndex]!.values) {
      let hit: string | undefined;
      for (const s of stored) {
        if (await verifyPassword(s, g)) {
          hit = s;
          break;
        }
      }
      if (hit === undefined) {
        throw policyError(
          ctx,
          ResultCode.unwillingToPerform,
          'Must supply correct old password to change to new one',
          PasswordPolicyError.mustSupplyOldPassword,
        );
      }
      matched.push(hit);
    }
    changes.find((c) => c.d.key === PASSWORD_KEY && c.op === 'delete' && c.values.length > 0)!.values = matched;
  };
  await checkChange(dir, ctx, policy, old, ndn, { session: ctx.session, clear: newValues[0], oldGiven, verifyOld });
  return policy;
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
