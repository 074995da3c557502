// The root DSE advertises what the registries hold, and only that: supportedControl is the
// control codec registry (protocol/controls/index.ts), supportedExtension the server's table of
// extended operations (server/extended.ts). Each advertised OID is also honoured on the wire
// (a critical control is not refused, an extended operation is not "unsupported"), and an OID
// nobody registered is refused as slapd refuses it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Frontend } from '../../src/directory/frontend.js';
import { searchRequest } from '../../src/ldap/messages.js';
import { OID } from '../../src/ldap/oids.js';
import { ResultCode } from '../../src/ldap/result.js';
import { requestControlOids } from '../../src/protocol/controls/index.js';
import { EXTENDED_OPERATIONS } from '../../src/server/extended.js';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { startCore, type Core } from '../helpers/core.js';
import { RawLdap } from '../helpers/raw-ldap.js';
import { attrValues, parseLdifEntries, runTool } from '../helpers/tools.js';

const B = 'dc=example,dc=com';
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
const seed = (): string => `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`;
const UNREGISTERED = '1.3.6.1.4.1.99999.42.1';

let ast: InProcessAstldap;

async function rootDse(attr: string): Promise<string[]> {
  const r = await runTool('ldapsearch', ['-H', ast.url, '-x', '-LLL', '-b', '', '-s', 'base', attr]);
  expect(r.code, r.stderr).toBe(0);
  return attrValues(parseLdifEntries(r.stdout)[0]!, attr);
}

/** A base search of the root DSE carrying one critical control without a value. */
async function searchWithCritical(c: RawLdap, oid: string): Promise<{ code: number; message: string }> {
  const base = await c.request(
    (w) => {
      w.startSequence(0x63);
      w.writeString('');
      w.writeEnumerated(0);
      w.writeEnumerated(0);
      w.writeInteger(0);
      w.writeInteger(0);
      w.writeBoolean(false);
      w.writeString('objectClass', 0x87);
      w.startSequence();
      w.endSequence();
      w.endSequence();
    },
    [{ oid, critical: true }],
  );
  // The entry may come first (a control that does not apply to search is ignored).
  const done = base.tag === 0x65 ? base : await c.next((m) => m.messageId === base.messageId && m.tag === 0x65);
  return { code: done.code!, message: done.message ?? '' };
}

async function extended(c: RawLdap, oid: string): Promise<{ code: number; message: string }> {
  const res = await c.request((w) => {
    w.startSequence(0x77);
    w.writeString(oid, 0x80);
    w.endSequence();
  });
  expect(res.tag).toBe(0x78);
  return { code: res.code!, message: res.message ?? '' };
}

describe('advertised OIDs come from the registries', () => {
  beforeAll(async () => {
    ast = await startAstldap({ seedLdif: seed(), config: { suffix: B, admin: { dn: ADMIN[0], password: ADMIN[1] } } });
  }, 60_000);
  afterAll(async () => {
    await ast?.stop();
  });

  it('supportedControl is exactly the request controls with a codec', async () => {
    const advertised = await rootDse('supportedControl');
    expect([...advertised].sort()).toEqual([...requestControlOids()].sort());
    expect(new Set(advertised).size).toBe(advertised.length);
  });

  it('supportedExtension is exactly the extended operations of the table, and StartTLS (the connection runs it)', async () => {
    // StartTLS failed here on the tree before: slapd advertises 1.3.6.1.4.1.1466.20037 when it has TLS, astldap never did.
    const advertised = await rootDse('supportedExtension');
    expect([...advertised].sort()).toEqual([OID.startTls, ...EXTENDED_OPERATIONS.map((o) => o.oid)].sort());
  });

  it('every advertised control is taken as critical; an unregistered one is refused', async () => {
    const c = await RawLdap.connect(Number(new URL(ast.url).port));
    try {
      for (const oid of await rootDse('supportedControl')) {
        const r = await searchWithCritical(c, oid);
        expect(r.code, `${oid}: ${r.message}`).not.toBe(ResultCode.unavailableCriticalExtension);
      }
      const r = await searchWithCritical(c, UNREGISTERED);
      expect(r.code).toBe(ResultCode.unavailableCriticalExtension);
    } finally {
      c.close();
    }
  });

  it('every advertised extended operation has a handler; an unregistered OID is unsupported', async () => {
    const c = await RawLdap.connect(Number(new URL(ast.url).port));
    try {
      expect(await c.bind(ADMIN[0], ADMIN[1])).toBe(0);
      // StartTLS is the connection's own, proved by its own tests (it would turn this connection to TLS).
      for (const oid of (await rootDse('supportedExtension')).filter((o) => o !== OID.startTls)) {
        const r = await extended(c, oid);
        expect(r.message, oid).not.toBe('unsupported extended operation');
      }
      expect(await extended(c, UNREGISTERED)).toEqual({ code: ResultCode.protocolError, message: 'unsupported extended operation' });
    } finally {
      c.close();
    }
  });

  it('ldapwhoami and ldappasswd still get their response values through the table', async () => {
    const who = await runTool('ldapwhoami', ['-H', ast.url, '-x', '-D', ADMIN[0], '-w', ADMIN[1]]);
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout.trim()).toBe(`dn:${ADMIN[0]}`);
  });
});

describe('a frontend without a handler for a decoded request', () => {
  let core: Core;
  beforeAll(async () => {
    core = await startCore({ suffix: B, admin: { dn: ADMIN[0], password: ADMIN[1] } });
  });
  afterAll(async () => {
    await core?.close();
  });

  it('answers "unsupported extended operation" and does not advertise it', async () => {
    const bare = new Frontend(core.dir, { extended: EXTENDED_OPERATIONS.filter((o) => o.kind !== 'passwordModify'), controls: [] });
    await expect(bare.extended(core.as(ADMIN[0]), { kind: 'passwordModify' })).rejects.toMatchObject({
      code: ResultCode.protocolError,
      message: 'unsupported extended operation',
    });
    const entries: string[] = [];
    await bare.search(core.as(''), searchRequest('', { scope: 'base', attributes: ['supportedExtension'] }), (e) => {
      for (const a of e.attributes) entries.push(...a.values.map(String));
    });
    expect(entries.sort()).toEqual(
      EXTENDED_OPERATIONS.filter((o) => o.kind !== 'passwordModify')
        .map((o) => o.oid)
        .sort(),
    );
  });
});
