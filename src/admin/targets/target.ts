// Where the passwords a config manages live: ONE interface, two implementations. The embedded
// directory (embedded.ts) reads through the store and writes through the directory's write path,
// the entry and the engine's record in one batch; an external LDAP server (external.ts) is
// reached through ldapjs. The engine picks the target once per operation (index.ts: targetFor).

import type { WriteTransaction } from '../../directory/write.js';
import type { Attrs, Changes } from '../engine/changes.js';

export interface TargetEntry {
  dn: string;
  /** Lowercased attribute names (the local schema's keys for the embedded directory). */
  attrs: Attrs;
}

/** One password rotation of one account. */
export interface Rotation {
  dn: string;
  /**
   * role: a static role's account, changed with the bind account's access rights; root: the
   * bind account itself (an account may change its own password, like a self Password Modify).
   */
  account: 'role' | 'root';
  /** The changes for the entry as read (the new password made here); cleartext when the target hashes. */
  changes(entry: TargetEntry, cleartext: boolean): Promise<Changes>;
  /** The new password in cleartext, once changes() made it (the directory's password policy checks it). */
  password(): string;
  /**
   * Stages the engine's record of the rotation (role or config meta) in the transaction that
   * stores it: the same batch as the entry's change on the embedded directory, a batch right
   * after the remote change otherwise. A throw here leaves the embedded entry unchanged.
   */
  record(tx: WriteTransaction): Promise<void>;
}

export interface PasswordTarget {
  /** Where the target is, for messages: '' for the embedded directory, ' on <url>' otherwise. */
  readonly where: string;
  /** Throws invalid when the config does not fit the target (DN syntax, the schema's attributes). */
  checkConfig(): void;
  /** Throws invalid when dn (the field named) is not a DN the target can hold. */
  checkDn(dn: string, field: string): void;
  /** Binds as binddn/bindpass; throws when that fails. */
  verifyBind(): Promise<void>;
  /** The entry, or undefined when there is none. */
  read(dn: string): Promise<TargetEntry | undefined>;
  /** The DNs of the entries below userdn whose userattr is username. */
  findUsers(username: string): Promise<string[]>;
  /**
   * The DNs of entries near dn (the embedded naming context; on an external server the
   * grandparent of dn) with one of attrs holding value as an item of a comma-separated list.
   */
  findReferrers(dn: string, attrs: readonly string[], value: string): Promise<string[]>;
  /**
   * Throws invalid when the directory's password policy for the entry would refuse every
   * rotation of it (passwords of `length` characters, changed by the bind account); a target
   * that cannot read the policy checks nothing.
   */
  checkPolicy?(dn: string, attrs: Attrs, length: number): Promise<void>;
  /** Changes the account's password and records it; throws (changing nothing) when it cannot. */
  rotate(r: Rotation): Promise<void>;
}

/** The lowercased items of a comma-separated value (Asterisk's list columns, e.g. outbound_auth). */
export function listItems(v: string): string[] {
  return v
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);
}
