// A private slapd for the Asterisk replay suite. test/helpers/slapd.ts loads only the stock
// Asterisk schema and gives everyone read-only access, so this variant (same layout: temp dir,
// free loopback port, data loaded with slapadd) adds:
//   - schema/astldap-asterisk.schema after the stock schema/asterisk.schema;
//   - write access for the Asterisk identity everywhere (slapd is the reference for what the
//     driver reads back, not for astldap's access rules: see the astldapOnly cases in replay.test.ts);
//   - no size/time limit for the Asterisk identity (slapd's default 500 would fail big scans,
//     and the driver throws away a whole answer on sizeLimitExceeded), 500 for everyone else.

import path from 'node:path';
import { confPreamble, mdbDatabase, repoRoot, ROOT_PW, setUpSlapd, SUFFIX } from '../helpers/slapd.js';
import { removeDir } from '../helpers/tmp.js';

export const ASTERISK_DN = `cn=asterisk,ou=services,${SUFFIX}`;

export interface AsteriskSlapd {
  url: string;
  stop(): Promise<void>;
}

function conf(dir: string): string {
  return [
    ...confPreamble(dir, [path.join(repoRoot, 'schema/asterisk.schema'), path.join(repoRoot, 'schema/astldap-asterisk.schema')]),
    'sizelimit 500',
    'timelimit 3600',
    ...mdbDatabase(dir, SUFFIX, `cn=admin,${SUFFIX}`, ROOT_PW),
    `limits dn.exact="${ASTERISK_DN}" size=unlimited time=unlimited`,
    'index objectClass eq',
    'index cn eq,sub',
    'access to attrs=userPassword by self write by anonymous auth by * none',
    `access to * by dn.exact="${ASTERISK_DN}" write by * read`,
    '',
  ].join('\n');
}

export async function startAsteriskSlapd(ldif: string): Promise<AsteriskSlapd> {
  const { dir, launched } = await setUpSlapd('astldap-ast-slapd-', conf, ldif);
  return {
    url: `ldap://127.0.0.1:${launched.port}`,
    async stop() {
      await launched.stop();
      removeDir(dir);
    },
  };
}
