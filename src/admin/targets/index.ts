// The target a config manages: the embedded directory or an external LDAP server.

import type { Directory } from '../../directory/directory.js';
import { usesExternal, type EngineConfig } from '../engine/config.js';
import { EmbeddedTarget } from './embedded.js';
import { ExternalTarget } from './external.js';
import type { PasswordTarget } from './target.js';

export type { PasswordTarget, Rotation, TargetEntry } from './target.js';

/** The config's target (its url decided when it was written; ownUrls: this server's listeners). */
export function targetFor(dir: Directory, cfg: EngineConfig, ownUrls: string[]): PasswordTarget {
  return usesExternal(cfg, ownUrls) ? new ExternalTarget(dir.writer, cfg) : new EmbeddedTarget(dir, cfg);
}
