// Who may do what. For now: the administrator may do everything; everyone may read the
// directory except password attributes (administrators only); only administrators write.
// Size and time limits per identity also live here.

import { LdapError, ResultCode } from '../errors.js';
import type { Directory } from './directory.js';
import type { Session } from './requests.js';

/** Attributes nobody but administrators may read or compare. */
const SECRET_KEYS = new Set(['userpassword']);

export class AccessPolicy {
  private readonly unlimited: Set<string>;

  constructor(private readonly dir: Directory) {
    this.unlimited = new Set(dir.config.limits.unlimited.map((dn) => dir.normalize(dn)));
  }

  canReadAttribute(session: Session, key: string): boolean {
    if (!SECRET_KEYS.has(key.split(';')[0]!)) return true;
    return this.dir.isAdmin(session);
  }

  requireWrite(session: Session, dn: string): void {
    if (this.dir.isAdmin(session)) return;
    throw new LdapError(ResultCode.insufficientAccessRights, `no write access to "${dn}"`);
  }

  /** Server-side limits for this identity: 0 means unlimited. */
  limits(session: Session): { sizeLimit: number; timeLimit: number } {
    if (this.dir.isAdmin(session) || this.unlimited.has(session.bindNdn)) return { sizeLimit: 0, timeLimit: 0 };
    return { sizeLimit: this.dir.config.limits.sizeLimit, timeLimit: this.dir.config.limits.timeLimit };
  }
}
