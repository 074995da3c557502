// The subtree rename of issue 22 (target 4): N entries below one ou, renamed with ldapmodrdn, in
// layout 2 and layout 3, the server in this process on a fresh database of each layout. Prints
// the rename's wall time (ldapmodrdn's run, its process start included) and what the indexes find
// at the new place. Usage: node bench/rename.mjs [N=20000] [layouts=2,3]

import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { startServer } = await import(path.join(root, 'dist/index.js'));
const n = Number(process.argv[2] ?? 20000);
const layouts = (process.argv[3] ?? '2,3').split(',').map(Number);
const SUFFIX = 'dc=example,dc=com';
const PASSWORD = 'bench-secret';

function ldif() {
  const out = [
    `dn: ${SUFFIX}`,
    'objectClass: domain',
    'dc: example',
    '',
    `dn: ou=old,${SUFFIX}`,
    'objectClass: organizationalUnit',
    'ou: old',
    '',
  ];
  for (let i = 0; i < n; i++)
    out.push(
      `dn: uid=u${i},ou=old,${SUFFIX}`,
      'objectClass: inetOrgPerson',
      `uid: u${i}`,
      `cn: User ${i}`,
      `sn: S${i}`,
      `mail: u${i}@example.com`,
      '',
    );
  return out.join('\n');
}

// The tools run beside the server, which is in this process: never a synchronous child.
const tool = async (name, url, args) =>
  (await execFileP(name, ['-x', '-H', url, '-D', `cn=admin,${SUFFIX}`, '-w', PASSWORD, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 }))
    .stdout;
const count = async (url, base, filter) =>
  (await tool('ldapsearch', url, ['-LLL', '-b', base, filter, '1.1'])).split('\n').filter((l) => l.startsWith('dn:')).length;

for (const layout of layouts) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'astldap-rename-'));
  chmodSync(dataDir, 0o700);
  const server = await startServer({
    dataDir,
    listen: ['ldap://127.0.0.1:0'],
    seed: false,
    suffix: SUFFIX,
    admin: { password: PASSWORD },
    config: { store: { layout, sync: true } },
    logger: false,
  });
  try {
    const t0 = performance.now();
    await server.importLdif(ldif());
    const url = server.url;
    const loaded = performance.now() - t0;
    const r0 = performance.now();
    await tool('ldapmodrdn', url, ['-r', `ou=old,${SUFFIX}`, 'ou=new']);
    const renamed = performance.now() - r0;
    const base = `ou=new,${SUFFIX}`;
    const found = {
      subtree: await count(url, base, '(objectClass=*)'),
      eq: await count(url, SUFFIX, `(uid=u${n - 1})`),
      sub: await count(url, base, '(cn=User 1*)'),
      pres: await count(url, base, '(mail=*)'),
      old: (await tool('ldapsearch', url, ['-LLL', '-b', SUFFIX, '(uid=u1)', '1.1'])).trim(),
    };
    console.log(
      `layout ${layout}: ${n} entries loaded in ${loaded.toFixed(0)} ms; rename ${renamed.toFixed(0)} ms; found at the new place:`,
      found,
    );
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
