// Vault ACL policies (src/admin/api/acl-policy.ts), dynamic-role templates (templates.ts), the seal
// (seal.ts) and the name rules, as pure functions.

import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { capabilitiesOn, parseAcl } from '../../src/admin/api/acl-policy.js';
import { checkName } from '../../src/admin/engine/credentials.js';
import { SealKeyError, Sealer } from '../../src/admin/engine/seal.js';
import { render } from '../../src/admin/dynamic/templates.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const caps = (policy: string, path: string) => [...capabilitiesOn(parseAcl(policy), path)].sort();

describe('ACL policies', () => {
  it('exact paths, prefix globs, + segments', () => {
    const p = `
      # comment
      path "openldap/static-cred/asterisk-*" { capabilities = ["read"] }
      path "ldap/+/pj1000" { capabilities = ["read", "list"] }
      path "sys/policies/acl/x" { capabilities = ["update"] }`;
    expect(caps(p, 'openldap/static-cred/asterisk-1000')).toEqual(['read']);
    expect(caps(p, 'openldap/static-cred/alice')).toEqual([]);
    expect(caps(p, 'ldap/static-cred/pj1000')).toEqual(['list', 'read']);
    expect(caps(p, 'ldap/a/b/pj1000')).toEqual([]);
    expect(caps(p, 'sys/policies/acl/x')).toEqual(['update']);
    expect(caps(p, 'sys/policies/acl/xy')).toEqual([]);
  });

  it('exact beats glob, the longer glob wins, deny beats all', () => {
    const p = `
      path "a/*" { capabilities = ["read", "update"] }
      path "a/b/*" { capabilities = ["list"] }
      path "a/b/c" { capabilities = ["delete"] }
      path "a/secret" { capabilities = ["deny", "read"] }`;
    expect(caps(p, 'a/x')).toEqual(['read', 'update']);
    expect(caps(p, 'a/b/x')).toEqual(['list']);
    expect(caps(p, 'a/b/c')).toEqual(['delete']);
    expect(caps(p, 'a/secret')).toEqual([]);
  });

  it('JSON policies; bad ones are refused with a reason', () => {
    expect(caps('{"path": {"x/*": {"capabilities": ["read"]}}}', 'x/y')).toEqual(['read']);
    expect(() => parseAcl('path "x" { capabilities = ["fly"] }')).toThrow(/invalid capability "fly"/);
    expect(() => parseAcl('path "x" { policy = "write" }')).toThrow(/unsupported setting policy/);
    expect(() => parseAcl('path x { }')).toThrow(/quoted path/);
    expect(() => parseAcl('path "x" {')).toThrow(/end of policy/);
  });
});

describe('templates', () => {
  it('fields, md5, random, base64; unknown fields and functions refused', () => {
    const f = { Username: 'u1', Password: 'p w' };
    expect(render('cn={{.Username}},{{ .Password }}', f)).toBe('cn=u1,p w');
    expect(render('{{md5 .Username ":asterisk:" .Password}}', f)).toBe(createHash('md5').update('u1:asterisk:p w').digest('hex'));
    expect(render('{{random 12}}', f)).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(render('{{base64 .Password}}', f)).toBe(Buffer.from('p w').toString('base64'));
    expect(() => render('{{.Nope}}', f)).toThrow(/unknown field \.Nope/);
    expect(() => render('{{exec "x"}}', f)).toThrow(/unknown function exec/);
    expect(() => render('{{random 0}}', f)).toThrow(/random needs a length/);
    expect(() => render('userPassword: {{.Password}}', { Password: 'x\ndn: cn=evil' }, true)).toThrow(/line break/);
    expect(render('userPassword:: {{base64 .Password}}', { Password: 'x\ny' }, true)).toBe(
      `userPassword:: ${Buffer.from('x\ny').toString('base64')}`,
    );
  });
});

describe('seal', () => {
  it('seals with a key id, opens, detects a wrong key and tampering', () => {
    const key = randomBytes(32).toString('hex');
    const s = Sealer.open({ kind: 'env', value: key });
    const v = s.seal('alice-secret');
    expect(v).toMatch(new RegExp(`^sealed:v1:${s.keyId}:`));
    expect(v).not.toContain('alice-secret');
    expect(s.unseal(v)).toBe('alice-secret');
    const other = Sealer.open({ kind: 'env', value: randomBytes(32).toString('hex') });
    expect(() => other.unseal(v)).toThrow(SealKeyError);
    expect(() => other.unseal(v)).toThrow(/ASTLDAP_SEAL_KEY does not hold.*wrong seal key/);
    const parts = v.split(':');
    const body = Buffer.from(parts[4]!, 'base64url');
    body[0] ^= 1;
    expect(() => s.unseal([...parts.slice(0, 4), body.toString('base64url')].join(':'))).toThrow(/fails authentication/);
    // an old key listed after the new one still opens; new values use the first
    const both = Sealer.open({ kind: 'env', value: `${randomBytes(32).toString('base64')},${key}` });
    expect(both.unseal(v)).toBe('alice-secret');
    expect(both.keyId).not.toBe(s.keyId);
    expect(() => Sealer.open({ kind: 'env', value: 'short' })).toThrow(/32 bytes/);
  });

  it('a key file is made 0600 on first open, reopened with the same key, refused when others may read it', () => {
    const dir = tempDir('astldap-seal-unit-');
    try {
      const file = path.join(dir, 'keys', 'seal-key');
      const a = Sealer.open({ kind: 'file', file });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const v = a.seal('x');
      expect(Sealer.open({ kind: 'file', file }).unseal(v)).toBe('x');
      chmodSync(file, 0o644);
      expect(() => Sealer.open({ kind: 'file', file })).toThrow(/open to other users \(mode 644\): chmod 600/);
    } finally {
      removeDir(dir);
    }
  });
});

describe('names (Vault name rules)', () => {
  it('refuses path-like and control characters', () => {
    for (const ok of ['a', 'pj1000', 'asterisk-1000', 'team/a.b', 'x@y_z']) expect(() => checkName(ok, 'role')).not.toThrow();
    for (const bad of ['', '..', '../x', 'a/../b', '/a', 'a//b', 'a/', '.a', 'a.', 'a\nb', 'a\0b', 'a b', 'x'.repeat(129)]) {
      expect(() => checkName(bad, 'role'), JSON.stringify(bad)).toThrow(/invalid role name/);
    }
  });
});
