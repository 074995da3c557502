// Access control: the rules of config.yaml's `access` list, evaluated for every operation, in
// the spirit of slapd's olcAccess. The first rule whose target (entry DN and, when it lists
// them, attributes) matches decides; inside it, the first `by` clause naming the requester
// gives the access level; nothing matching means no access. Administrators (the configured
// admin and the ldapi EXTERNAL identity) are never restricted. Group membership is kept in
// memory (loaded at start, refreshed when a group entry is written), so checks are synchronous.
// Size and time limits per identity also live here.

import { LdapError, ResultCode } from '../ldap/result.js';
import { isBelow, isWithin } from '../ldap/ndn.js';
import type { Session } from '../ldap/messages.js';
import type { AccessRule, AccessLevel, Config, FilterLimits } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { EntryRecord, WriteBatch } from '../store/types.js';

const LEVELS: Record<AccessLevel, number> = { none: 0, auth: 1, compare: 2, search: 3, read: 4, write: 5 };

type Target = { kind: 'any' } | { kind: 'dn' | 'subtree' | 'children'; ndn: string };
type Who =
  { kind: 'anyone' | 'anonymous' | 'users' | 'self' | 'admins' } | { kind: 'dn' | 'subtree'; ndn: string } | { kind: 'group'; ndn: string };

interface CompiledRule {
  targets: Target[];
  /** Attribute keys (lowercase type names, 'entry' for the entry itself); undefined = all. */
  attrs: Set<string> | undefined;
  by: Array<{ who: Who; level: number }>;
}

/** What the policy needs of the server it guards (the directory core supplies it). */
export interface AccessContext {
  config: Pick<Config, 'access' | 'limits'> & { replication?: Config['replication'] };
  schema(): SchemaRegistry;
  /** Normalises a DN (throws an LdapError when it is not one). */
  normalize(dn: string): string;
  /** The configured administrator or the ldapi EXTERNAL identity. */
  isAdmin(session: Session): boolean;
  log: Logger;
}

export class AccessPolicy {
  private readonly unlimited: Set<string>;
  /** Replication identities (config replication.identities): read everything, no limits. */
  private readonly replicators: Set<string>;
  private readonly rules: CompiledRule[];
  /** Group ndn → normalised member DNs. */
  private readonly groups = new Map<string, Set<string>>();

  constructor(private readonly dir: AccessContext) {
    this.unlimited = new Set(dir.config.limits.unlimited.map((dn) => dir.normalize(dn)));
    this.replicators = new Set((dir.config.replication?.identities ?? []).map((dn) => dir.normalize(dn)));
    this.rules = dir.config.access.map((r, i) => this.compile(r, i));
  }

  private compile(rule: AccessRule, i: number): CompiledRule {
    const where = `access[${i}]`;
    const targets = (Array.isArray(rule.to) ? rule.to : [rule.to]).map((t): Target => {
      if (t === '*') return { kind: 'any' };
      const m = /^(dn|subtree|children):(.*)$/i.exec(t);
      if (!m) throw new Error(`${where}: "to" must be *, dn:DN, subtree:DN or children:DN, got "${t}"`);
      return { kind: m[1]!.toLowerCase() as 'dn' | 'subtree' | 'children', ndn: this.dir.normalize(m[2]!.trim()) };
    });
    let attrs: Set<string> | undefined;
    if (rule.attrs) {
      attrs = new Set();
      for (const a of rule.attrs) {
        if (a.toLowerCase() === 'entry') {
          attrs.add('entry');
          continue;
        }
        const t = this.dir.schema().attributeType(a);
        if (!t) {
          this.dir.log.warn(`${where}: unknown attribute ${a} ignored`);
          continue;
        }
        // A rule on a type covers its subtypes (a rule on name covers cn).
        for (const s of this.dir.schema().subtypesOf(t)) attrs.add(s.key);
      }
    }
    const by = rule.by.map((b) => {
      const level = LEVELS[b.level];
      if (level === undefined) throw new Error(`${where}: unknown level ${b.level}`);
      return { who: this.compileWho(b.who, where), level };
    });
    return { targets, attrs, by };
  }

  private compileWho(w: string, where: string): Who {
    const plain = w.toLowerCase();
    if (plain === 'anyone' || plain === 'anonymous' || plain === 'users' || plain === 'self' || plain === 'admins') return { kind: plain };
    const m = /^(dn|subtree|group):(.*)$/i.exec(w);
    if (!m) throw new Error(`${where}: "who" must be anyone, anonymous, users, self, admins, dn:DN, subtree:DN or group:DN, got "${w}"`);
    const kind = m[1]!.toLowerCase() as 'dn' | 'subtree' | 'group';
    const ndn = this.dir.normalize(m[2]!.trim());
    if (kind === 'group') this.groups.set(ndn, new Set());
    return { kind, ndn };
  }

  /** Loads the members of the groups the rules name. */
  async init(get: (ndn: string) => Promise<EntryRecord | undefined>): Promise<void> {
    this.read = get;
    for (const g of this.groups.keys()) this.loadGroup(g, await get(g));
  }

  /** Keeps group membership current: called with every batch the directory writes. */
  onWrite(batch: WriteBatch): void {
    for (const w of batch.entries) {
      if (this.groups.has(w.ndn)) this.loadGroup(w.ndn, w.new);
      // A subtree moved by its top entry alone: the groups below its old place are gone from
      // there; those below its new place are read again (empty, so granting nothing, until then).
      if (w.subtree && w.from !== undefined) {
        for (const g of this.groups.keys()) {
          if (isBelow(g, w.from)) this.loadGroup(g, undefined);
          else if (isBelow(g, w.ndn)) this.reloadGroup(g);
        }
      }
    }
  }

  private read: (ndn: string) => Promise<EntryRecord | undefined> = async () => undefined;
  /** Loads of each group so far: a read started before a later load does not overwrite it. */
  private readonly loads = new Map<string, number>();

  private reloadGroup(ndn: string): void {
    this.loadGroup(ndn, undefined);
    const n = this.loads.get(ndn);
    this.read(ndn).then(
      (rec) => {
        if (this.loads.get(ndn) === n) this.loadGroup(ndn, rec);
      },
      (err: unknown) => this.dir.log.warn(`access group ${ndn}: not read after a subtree move (${String(err)}); it grants nothing`),
    );
  }

  private loadGroup(ndn: string, rec: EntryRecord | undefined): void {
    this.loads.set(ndn, (this.loads.get(ndn) ?? 0) + 1);
    const members = new Set<string>();
    for (const v of [...(rec?.attrs['member'] ?? []), ...(rec?.attrs['uniquemember'] ?? [])]) {
      try {
        members.add(this.dir.normalize(v.replace(/#'[01]*'B$/, '')));
      } catch {
        /* a member value that is not a DN grants nothing */
      }
    }
    this.groups.set(ndn, members);
  }

  private whoMatches(who: Who, session: Session, ndn: string): boolean {
    const me = session.bindNdn;
    switch (who.kind) {
      case 'anyone':
        return true;
      case 'anonymous':
        return me === '';
      case 'users':
        return me !== '';
      case 'self':
        return me !== '' && me === ndn;
      case 'admins':
        return this.dir.isAdmin(session);
      case 'dn':
        return me === who.ndn;
      case 'subtree':
        return me !== '' && isWithin(me, who.ndn);
      case 'group':
        return me !== '' && (this.groups.get(who.ndn)?.has(me) ?? false);
    }
  }

  private static targetMatches(t: Target, ndn: string): boolean {
    switch (t.kind) {
      case 'any':
        return true;
      case 'dn':
        return ndn === t.ndn;
      case 'subtree':
        return isWithin(ndn, t.ndn);
      case 'children':
        return isBelow(ndn, t.ndn);
    }
  }

  /** A replication identity: a consumer that copies the whole naming context. */
  isReplicator(session: Session): boolean {
    return session.bindNdn !== '' && this.replicators.has(session.bindNdn);
  }

  /** The access level the session has to an attribute (or 'entry') of the entry ndn. */
  level(session: Session, ndn: string, attr: string): number {
    if (this.dir.isAdmin(session)) return LEVELS.write;
    const level = this.ruleLevel(session, ndn, attr);
    // A replica must hold everything, secrets included; the rules may still grant it write.
    return this.isReplicator(session) ? Math.max(level, LEVELS.read) : level;
  }

  private ruleLevel(session: Session, ndn: string, attr: string): number {
    for (const r of this.rules) {
      if (r.attrs && !r.attrs.has(attr)) continue;
      if (!r.targets.some((t) => AccessPolicy.targetMatches(t, ndn))) continue;
      for (const b of r.by) if (this.whoMatches(b.who, session, ndn)) return b.level;
      return LEVELS.none;
    }
    return LEVELS.none;
  }

  /** May the session see the entry at all (search results, a search base)? */
  canSee(session: Session, ndn: string): boolean {
    return this.level(session, ndn, 'entry') >= LEVELS.search;
  }

  /**
   * May the session learn that the entry exists (slapd's `disclose`, implied by every level from
   * auth up)? Without it, every answer about the entry is the answer for an absent one.
   */
  canDisclose(session: Session, ndn: string): boolean {
    return this.level(session, ndn, 'entry') >= LEVELS.auth;
  }

  canReadAttribute(session: Session, key: string, ndn: string): boolean {
    return this.level(session, ndn, key.split(';')[0]!) >= LEVELS.read;
  }

  canCompare(session: Session, key: string, ndn: string): boolean {
    return this.level(session, ndn, key.split(';')[0]!) >= LEVELS.compare;
  }

  /**
   * The entry as a filter may see it: attributes the session cannot search are left out, so a
   * filter cannot probe them. The record itself when nothing is hidden.
   */
  searchable(session: Session, ndn: string, rec: EntryRecord): EntryRecord {
    if (this.dir.isAdmin(session)) return rec;
    let out: Record<string, string[]> | undefined;
    for (const key of Object.keys(rec.attrs)) {
      if (this.level(session, ndn, key.split(';')[0]!) >= LEVELS.search) continue;
      out ??= { ...rec.attrs };
      delete out[key];
    }
    return out ? { dn: rec.dn, attrs: out } : rec;
  }

  /** Write access to the entry, or with attrs, to each of those attributes (modify). */
  requireWrite(session: Session, dn: string, attrs?: string[]): void {
    if (this.dir.isAdmin(session)) return;
    let ndn: string;
    try {
      ndn = this.dir.normalize(dn);
    } catch {
      throw new LdapError(ResultCode.insufficientAccessRights, `no write access to "${dn}"`);
    }
    const keys = attrs && attrs.length ? attrs.map((a) => a.split(';')[0]!) : ['entry'];
    for (const k of keys) {
      if (this.level(session, ndn, k) < LEVELS.write) {
        throw new LdapError(
          ResultCode.insufficientAccessRights,
          `no write access to ${k === 'entry' ? 'entry' : `attribute ${k} of`} "${dn}"`,
        );
      }
    }
  }

  /**
   * Server-side limits for this identity: size and time (0 means unlimited), entries examined per
   * search, and the filter ceiling, which is never unlimited (administrators get a high one).
   */
  limits(session: Session): { sizeLimit: number; timeLimit: number; examineLimit: number; filter: FilterLimits } {
    const l = this.dir.config.limits;
    if (this.dir.isAdmin(session)) return { sizeLimit: 0, timeLimit: 0, examineLimit: l.privilegedExamineLimit, filter: l.adminFilter };
    if (this.unlimited.has(session.bindNdn) || this.isReplicator(session))
      return { sizeLimit: 0, timeLimit: 0, examineLimit: l.privilegedExamineLimit, filter: l.filter };
    return { sizeLimit: l.sizeLimit, timeLimit: l.timeLimit, examineLimit: l.examineLimit, filter: l.filter };
  }
}
