// Issue 23: the version the root DSE reports is the package's (package.json), not a constant that
// an edit of package.json leaves behind. Read with OpenLDAP's ldapsearch, from the built server
// (dist/) as `astldap serve` runs it.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnAstldap } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { runTool } from '../helpers/tools.js';

describe('root DSE vendorVersion', () => {
  const tmp = useTempDir('astldap-version-');

  it('is package.json version', async () => {
    const { version, name } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; name: string };
    const server = await spawnAstldap([
      'serve',
      '--config',
      path.join(repoRoot, 'config.yaml'),
      '--data',
      tmp(),
      '--listen',
      'ldap://127.0.0.1:0',
      '--no-admin',
    ]);
    try {
      const r = await runTool('ldapsearch', ['-x', '-H', server.url, '-LLL', '-s', 'base', '-b', '', 'vendorName', 'vendorVersion']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`vendorVersion: ${version}\n`);
      expect(r.stdout).toContain(`vendorName: ${name}\n`);
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
    }
  });
});
