// The embedding API: start a real directory in-process (port 0, LDIF seed, reset), plus the
// building blocks for programs that want more control.

export { startServer, AstldapServer, type StartOptions, type DirectorySnapshot } from './server/index.js';
export { DataDirLockedError } from './server/lock.js';
export type { OperationSummary } from './protocol/observer.js';
export { loadConfig, defaultConfig, type Config, type ConfigOverrides } from './config/config.js';
export { LdapError, ResultCode } from './ldap/result.js';
export { parseLdif, formatLdifEntry } from './ldif/ldif.js';
