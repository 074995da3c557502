// LDAP transactions (RFC 5805) below the level of a client library: raw BER requests for what
// ldapmodify never sends. Abort; an update that passed its check but fails at commit (another
// connection changed the entry meanwhile): the End response names its message ID and nothing
// is applied; identifiers reused, made up or of another connection; the limits; a connection
// dropped or re-bound mid-transaction; malformed control and extended values (protocolError,
// the connection kept); a persistent search and a sync consumer seeing the commit's changes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OID } from '../../src/ldap/oids.js';
import { ResultCode } from '../../src/ldap/result.js';
import { BerReader, BerWriter } from '../../src/protocol/ber.js';
import { RawLdap, type RawControl, type RawMessage } from '../helpers/raw-ldap.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { ADMIN, B, startHardened, type Hardened } from './harness.js';

const P = `ou=people,${B}`;
const PW = 'secret';
const TXN_ID_INVALID = ResultCode.txnIdInvalid;

function extended(oid: string, value?: Buffer): (w: BerWriter) => void {
  return (w) => {
    w.startSequence(0x77);
    w.writeString(oid, 0x80);
    if (value) w.writeOctets(value, 0x81);
    w.endSequence();
  };
}

function endValue(id: Buffer, commit?: boolean): Buffer {
  const v = new BerWriter(32);
  v.startSequence();
  if (commit !== undefined) v.writeBoolean(commit);
  v.writeOctets(id);
  v.endSequence();
  return v.toBuffer();
}

const spec = (id: Buffer): RawControl => ({ oid: OID.txnSpec, critical: true, value: id });

function addOp(dn: string, attrs: Record<string, string[]>): (w: BerWriter) => void {
  return (w) => {
    w.startSequence(0x68);
    w.writeString(dn);
    w.startSequence();
    for (const [type, values] of Object.entries(attrs)) {
      w.startSequence();
      w.writeString(type);
      w.startSequence(0x31);
      for (const v of values) w.writeString(v);
      w.endSequence();
      w.endSequence();
    }
    w.endSequence();
    w.endSequence();
  };
}

function modifyOp(dn: string, type: string, values: string[], op = 2): (w: BerWriter) => void {
  return (w) => {
    w.startSequence(0x66);
    w.writeString(dn);
    w.startSequence();
    w.startSequence();
    w.writeEnumerated(op);
    w.startSequence();
    w.writeString(type);
    w.startSequence(0x31);
    for (const v of values) w.writeString(v);
    w.endSequence();
    w.endSequence();
    w.endSequence();
    w.endSequence();
    w.endSequence();
  };
}

const deleteOp =
  (dn: string): ((w: BerWriter) => void) =>
  (w) =>
    w.writeString(dn, 0x4a);

const person = (uid: string) => addOp(`uid=${uid},${P}`, { objectClass: ['inetOrgPerson'], uid: [uid], cn: [uid], sn: ['S'] });

/** The message ID in a txnEndRes. */
function failedMessageId(m: RawMessage): number | undefined {
  if (!m.value) return undefined;
  const r = new BerReader(m.value);
  r.enter(0x30);
  return r.peek() === 0x02 ? r.readInteger() : undefined;
}

describe('LDAP transactions on the wire', () => {
  let h: Hardened;
  let port: number;

  const exists = async (dn: string): Promise<boolean> => {
    const r = await runTool('ldapsearch', ['-H', h.url, ...bindArgs(ADMIN, PW), '-LLL', '-b', dn, '-s', 'base', '1.1']);
    return r.code === 0;
  };
  const open = async (): Promise<RawLdap> => {
    const c = await RawLdap.connect(port);
    expect(await c.bind(ADMIN, PW)).toBe(0);
    return c;
  };
  const start = async (c: RawLdap): Promise<Buffer> => {
    const m = await c.request(extended(OID.txnStart));
    expect(m.code, m.message).toBe(0);
    expect(m.value?.length).toBeGreaterThan(0);
    return m.value!;
  };
  /** The connection still answers (a Who am I?). */
  const alive = async (c: RawLdap) => expect((await c.request(extended(OID.whoAmI))).code).toBe(0);

  beforeAll(async () => {
    // A consumer backlog bound below one commit of the persistent-search case: a consumer with nothing
    // waiting still takes a batch past it.
    h = await startHardened({ limits: { maxTxnOps: 5, maxTxnBytes: 4096, maxConsumerBacklog: 512 } as never });
    port = Number(new URL(h.url).port);
    const c = await open();
    expect([0, 68]).toContain((await c.request(addOp(P, { objectClass: ['organizationalUnit'], ou: ['people'] }))).code);
    expect((await c.request(person('victim'))).code).toBe(0);
    c.close();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('abort discards the queued updates', async () => {
    const c = await open();
    const id = await start(c);
    expect((await c.request(person('ab1'), [spec(id)])).code).toBe(0);
    expect((await c.request(modifyOp(`uid=victim,${P}`, 'sn', ['Aborted']), [spec(id)])).code).toBe(0);
    const end = await c.request(extended(OID.txnEnd, endValue(id, false)));
    expect(end.code).toBe(0);
    expect(await exists(`uid=ab1,${P}`)).toBe(false);
    // The identifier is spent.
    expect((await c.request(person('ab2'), [spec(id)])).code).toBe(TXN_ID_INVALID);
    expect((await c.request(extended(OID.txnEnd, endValue(id)))).code).toBe(TXN_ID_INVALID);
    c.close();
  });

  it('an update that fails at commit: its message ID is answered and nothing is applied', async () => {
    const c = await open();
    const other = await open();
    const id = await start(c);
    expect((await c.request(person('m1'), [spec(id)])).code).toBe(0);
    const mod = await c.request(modifyOp(`uid=victim,${P}`, 'description', ['in txn']), [spec(id)]);
    expect(mod.code).toBe(0);
    expect((await c.request(person('m2'), [spec(id)])).code).toBe(0);
    // Another connection removes the entry the queued modify needs.
    expect((await other.request(deleteOp(`uid=victim,${P}`))).code).toBe(0);
    const end = await c.request(extended(OID.txnEnd, endValue(id)));
    expect(end.code).toBe(ResultCode.noSuchObject);
    expect(failedMessageId(end)).toBe(mod.messageId);
    expect(await exists(`uid=m1,${P}`)).toBe(false);
    expect(await exists(`uid=m2,${P}`)).toBe(false);
    expect((await other.request(person('victim'))).code).toBe(0);
    c.close();
    other.close();
  });

  it('commit applies all, and the identifier cannot be used again', async () => {
    const c = await open();
    const id = await start(c);
    for (const u of ['k1', 'k2']) expect((await c.request(person(u), [spec(id)])).code).toBe(0);
    expect(await exists(`uid=k1,${P}`)).toBe(false); // queued, not applied
    expect((await c.request(extended(OID.txnEnd, endValue(id)))).code).toBe(0);
    expect(await exists(`uid=k1,${P}`)).toBe(true);
    expect(await exists(`uid=k2,${P}`)).toBe(true);
    expect((await c.request(deleteOp(`uid=k1,${P}`), [spec(id)])).code).toBe(TXN_ID_INVALID);
    expect((await c.request(extended(OID.txnEnd, endValue(id)))).code).toBe(TXN_ID_INVALID);
    // An empty transaction has nothing to commit (slapd's answer).
    const id2 = await start(c);
    expect((await c.request(extended(OID.txnEnd, endValue(id2)))).code).toBe(ResultCode.operationsError);
    c.close();
  });

  it('pipelined: updates sent without waiting are checked and applied in order, End waits for them', async () => {
    const c = await open();
    const id = await start(c);
    // The child needs its parent, added just before it in the same flight of requests.
    const sent = [
      c.request(addOp(`ou=pipe,${B}`, { objectClass: ['organizationalUnit'], ou: ['pipe'] }), [spec(id)]),
      c.request(addOp(`uid=c1,ou=pipe,${B}`, { objectClass: ['inetOrgPerson'], uid: ['c1'], cn: ['c'], sn: ['c'] }), [spec(id)]),
      c.request(modifyOp(`uid=c1,ou=pipe,${B}`, 'sn', ['second']), [spec(id)]),
      c.request(extended(OID.txnEnd, endValue(id))),
    ];
    const answers = await Promise.all(sent);
    expect(answers.map((m) => m.code)).toEqual([0, 0, 0, 0]);
    const r = await runTool('ldapsearch', ['-H', h.url, ...bindArgs(ADMIN, PW), '-LLL', '-b', `uid=c1,ou=pipe,${B}`, '-s', 'base', 'sn']);
    expect(r.stdout).toMatch(/^sn: second$/m);
    expect((await c.request(deleteOp(`uid=c1,ou=pipe,${B}`))).code).toBe(0);
    expect((await c.request(deleteOp(`ou=pipe,${B}`))).code).toBe(0);
    c.close();
  });

  it('Password Modify as part of a transaction (RFC 5805 2.2): applied at commit', async () => {
    const c = await open();
    const id = await start(c);
    const pm = new BerWriter(64);
    pm.startSequence();
    pm.writeString(`uid=victim,${P}`, 0x80);
    pm.writeString('victim-new-pw', 0x82);
    pm.endSequence();
    expect((await c.request(extended(OID.passwordModify, pm.toBuffer()), [spec(id)])).code).toBe(0);
    const bindAs = async () => {
      const v = await RawLdap.connect(port);
      const code = await v.bind(`uid=victim,${P}`, 'victim-new-pw');
      v.close();
      return code;
    };
    expect(await bindAs()).toBe(ResultCode.invalidCredentials); // queued, not applied
    expect((await c.request(extended(OID.txnEnd, endValue(id)))).code).toBe(0);
    expect(await bindAs()).toBe(0);
    c.close();
  });

  it("another connection's identifier and a made-up one are refused", async () => {
    const a = await open();
    const b = await open();
    const id = await start(a);
    expect((await b.request(person('x1'), [spec(id)])).code).toBe(TXN_ID_INVALID);
    expect((await b.request(extended(OID.txnEnd, endValue(id)))).code).toBe(TXN_ID_INVALID);
    expect((await b.request(person('x2'), [spec(Buffer.from('nope'))])).code).toBe(TXN_ID_INVALID);
    // a's transaction is untouched by b's attempts.
    expect((await a.request(person('x3'), [spec(id)])).code).toBe(0);
    expect((await a.request(extended(OID.txnEnd, endValue(id)))).code).toBe(0);
    expect(await exists(`uid=x3,${P}`)).toBe(true);
    expect(await exists(`uid=x1,${P}`)).toBe(false);
    a.close();
    b.close();
  });

  it('limits: one transaction per connection, maxTxnOps and maxTxnBytes', async () => {
    const c = await open();
    const id = await start(c);
    expect((await c.request(extended(OID.txnStart))).code).toBe(ResultCode.busy);
    for (let i = 0; i < 5; i++) expect((await c.request(person(`l${i}`), [spec(id)])).code).toBe(0);
    const over = await c.request(person('l5'), [spec(id)]);
    expect(over.code).toBe(ResultCode.adminLimitExceeded);
    expect(over.message).toMatch(/maxTxnOps/);
    expect((await c.request(extended(OID.txnEnd, endValue(id, false)))).code).toBe(0);
    const id2 = await start(c);
    const big = addOp(`uid=big,${P}`, { objectClass: ['inetOrgPerson'], uid: ['big'], cn: ['big'], sn: ['x'.repeat(5000)] });
    const tooBig = await c.request(big, [spec(id2)]);
    expect(tooBig.code).toBe(ResultCode.adminLimitExceeded);
    expect(tooBig.message).toMatch(/maxTxnBytes/);
    expect((await c.request(extended(OID.txnEnd, endValue(id2, false)))).code).toBe(0);
    // Small updates of a large entry: the copies they write count, and past the bound the
    // transaction is discarded (its view holds them already).
    expect((await c.request(modifyOp(`uid=victim,${P}`, 'description', ['y'.repeat(3000)]))).code).toBe(0);
    const id3 = await start(c);
    expect((await c.request(modifyOp(`uid=victim,${P}`, 'sn', ['A']), [spec(id3)])).code).toBe(0);
    const past = await c.request(modifyOp(`uid=victim,${P}`, 'sn', ['B']), [spec(id3)]);
    expect(past.code).toBe(ResultCode.adminLimitExceeded);
    expect(past.message).toMatch(/discarded.*maxTxnBytes/);
    // RFC 5805 3.3: the Aborted Transaction Notice, unsolicited, with the identifier.
    const notice = await c.next((m) => m.messageId === 0 && m.tag === 0x78);
    expect(notice.name).toBe(OID.txnAborted);
    expect(notice.code).toBe(ResultCode.adminLimitExceeded);
    expect(notice.value).toEqual(id3);
    expect((await c.request(extended(OID.txnEnd, endValue(id3)))).code).toBe(TXN_ID_INVALID);
    expect((await c.request(modifyOp(`uid=victim,${P}`, 'description', [], 1))).code).toBe(0);
    c.close();
  });

  it('a connection dropped mid-transaction applies nothing; its identifier dies with it', async () => {
    const c = await open();
    const id = await start(c);
    expect((await c.request(person('d1'), [spec(id)])).code).toBe(0);
    c.close();
    const d = await open();
    // Polled, not slept: the server notices the close on its own schedule.
    const deadline = Date.now() + 20_000;
    while (h.server.directory.txns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(h.server.directory.txns.size).toBe(0);
    expect((await d.request(extended(OID.txnEnd, endValue(id)))).code).toBe(TXN_ID_INVALID);
    expect(await exists(`uid=d1,${P}`)).toBe(false);
    d.close();
  });

  it('limits.txnTimeout discards a transaction left open', async () => {
    const short = await startHardened({ limits: { txnTimeout: 1 } as never });
    try {
      const c = await RawLdap.connect(Number(new URL(short.url).port));
      expect(await c.bind(ADMIN, PW)).toBe(0);
      const m = await c.request(extended(OID.txnStart));
      expect(m.code).toBe(0);
      expect((await c.request(person('t1'), [spec(m.value!)])).code).toBe(0);
      // Waited for: the transaction goes once its second is up, with an Aborted Transaction Notice.
      const notice = await c.next((x) => x.messageId === 0 && x.tag === 0x78, 30_000);
      expect(notice.name).toBe(OID.txnAborted);
      expect(notice.value).toEqual(m.value);
      expect(notice.message).toMatch(/limits\.txnTimeout/);
      await short.waitForLog(/transaction discarded: open for more than limits\.txnTimeout/);
      expect((await c.request(person('t2'), [spec(m.value!)])).code).toBe(TXN_ID_INVALID);
      expect((await c.request(extended(OID.txnEnd, endValue(m.value!)))).code).toBe(TXN_ID_INVALID);
      c.close();
    } finally {
      await short.stop();
    }
  });

  it('transactions off (limits.maxTxnsPerConnection: 0): not advertised, Start is an unknown operation', async () => {
    const off = await startHardened({ limits: { maxTxnsPerConnection: 0 } as never });
    try {
      const root = await runTool('ldapsearch', ['-x', '-H', off.url, '-LLL', '-b', '', '-s', 'base', '(objectClass=*)', '+']);
      expect(root.stdout).not.toMatch(/1\.3\.6\.1\.1\.21\./);
      const c = await RawLdap.connect(Number(new URL(off.url).port));
      expect(await c.bind(ADMIN, PW)).toBe(0);
      const m = await c.request(extended(OID.txnStart));
      expect(m.code).toBe(ResultCode.protocolError);
      expect(m.message).toBe('unsupported extended operation');
      expect((await c.request(person('o1'), [spec(Buffer.from('x'))])).code).toBe(ResultCode.unavailableCriticalExtension);
      c.close();
    } finally {
      await off.stop();
    }
  });

  it('a bind ends the transaction (RFC 5805 3.5)', async () => {
    const c = await open();
    const id = await start(c);
    expect((await c.request(person('r1'), [spec(id)])).code).toBe(0);
    expect(await c.bind(ADMIN, PW)).toBe(0);
    expect((await c.request(extended(OID.txnEnd, endValue(id)))).code).toBe(TXN_ID_INVALID);
    expect(await exists(`uid=r1,${P}`)).toBe(false);
    c.close();
  });

  it('malformed values: protocolError, the connection kept', async () => {
    const c = await open();
    const id = await start(c);
    // Not critical, no identifier.
    const notCritical = await c.request(person('z1'), [{ oid: OID.txnSpec, value: id }]);
    expect(notCritical.code).toBe(ResultCode.protocolError);
    expect(notCritical.message).toMatch(/critical/);
    expect((await c.request(person('z2'), [{ oid: OID.txnSpec, critical: true }])).code).toBe(ResultCode.protocolError);
    await alive(c);
    // Start with a value; End without one, with garbage, with trailing octets.
    expect((await c.request(extended(OID.txnStart, Buffer.from([0x04, 0x00])))).code).toBe(ResultCode.protocolError);
    expect((await c.request(extended(OID.txnEnd))).code).toBe(ResultCode.protocolError);
    expect((await c.request(extended(OID.txnEnd, Buffer.from([0x30, 0x05, 0x01])))).code).toBe(ResultCode.protocolError);
    expect((await c.request(extended(OID.txnEnd, Buffer.concat([endValue(id), Buffer.from([0x00])])))).code).toBe(ResultCode.protocolError);
    expect((await c.request(extended(OID.txnEnd, Buffer.from([0x30, 0x03, 0x01, 0x01, 0xff])))).code).toBe(ResultCode.protocolError);
    await alive(c);
    // Not for other extended operations than Password Modify, not with pre/post-read, not on cn=config.
    expect((await c.request(extended(OID.whoAmI), [spec(id)])).code).toBe(ResultCode.unwillingToPerform);
    const postRead = { oid: OID.postRead, value: Buffer.from([0x30, 0x00]) };
    expect((await c.request(person('z3'), [spec(id), postRead])).code).toBe(ResultCode.unwillingToPerform);
    expect((await c.request(modifyOp('cn=config', 'olcLogLevel', ['stats']), [spec(id)])).code).toBe(ResultCode.affectsMultipleDSAs);
    // The transaction survived all of it.
    expect((await c.request(person('z4'), [spec(id)])).code).toBe(0);
    expect((await c.request(extended(OID.txnEnd, endValue(id)))).code).toBe(0);
    expect(await exists(`uid=z4,${P}`)).toBe(true);
    c.close();
  });

  it('a persistent search sees each change of the commit, even past limits.maxConsumerBacklog', async () => {
    const watcher = await open();
    const ps = new BerWriter(16);
    ps.startSequence();
    ps.writeInteger(15);
    ps.writeBoolean(true);
    ps.writeBoolean(true);
    ps.endSequence();
    const sid = watcher.search(P, [{ oid: OID.persistentSearch, critical: true, value: ps.toBuffer() }], ['uid']);
    const c = await open();
    // The search is registered once a change made outside it shows up in it.
    expect((await c.request(person('ps0'))).code).toBe(0);
    await watcher.next((m) => m.messageId === sid && m.tag === 0x64 && m.dn === `uid=ps0,${P}`);
    const id = await start(c);
    expect((await c.request(person('ps1'), [spec(id)])).code).toBe(0);
    expect((await c.request(modifyOp(`uid=ps1,${P}`, 'description', ['two']), [spec(id)])).code).toBe(0);
    expect((await c.request(person('ps2'), [spec(id)])).code).toBe(0);
    expect((await c.request(deleteOp(`uid=ps0,${P}`), [spec(id)])).code).toBe(0);
    expect((await c.request(extended(OID.txnEnd, endValue(id)))).code).toBe(0);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await watcher.next((x) => x.messageId === sid && x.tag === 0x64);
      seen.push(m.dn!);
    }
    // ps1 added and modified in one transaction is one add.
    expect(seen.sort()).toEqual([`uid=ps0,${P}`, `uid=ps1,${P}`, `uid=ps2,${P}`].sort());
    watcher.close();
    c.close();
  });
});

describe('a reset password changed inside a transaction', () => {
  const POL = `ou=policies,${B}`;
  const RITA = `uid=rita,${P}`;
  const SEED = [
    `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ${POL}\nobjectClass: organizationalUnit\nou: policies\n`,
    `dn: ${P}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: cn=default,${POL}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default\npwdAttribute: userPassword\npwdMustChange: TRUE\npwdAllowUserChange: TRUE\n`,
    `dn: ${RITA}\nobjectClass: inetOrgPerson\nuid: rita\ncn: rita\nsn: rita\nuserPassword: ritapassword1\n`,
  ].join('\n');

  it('frees the session only once the transaction commits (an aborted one leaves it restricted)', async () => {
    const { startAstldap } = await import('../helpers/astldap.js');
    const ast = await startAstldap({
      seedLdif: SEED,
      config: {
        passwordPolicy: { default: `cn=default,${POL}`, useLockout: true },
        access: [
          { to: '*', attrs: ['userPassword'], by: [{ who: 'self', level: 'write' }] },
          { to: `subtree:${B}`, by: [{ who: 'self', level: 'write' }] },
        ],
      },
    });
    try {
      const port = Number(new URL(ast.url).port);
      const admin = await RawLdap.connect(port);
      expect(await admin.bind(ADMIN, PW)).toBe(0);
      expect((await admin.request(modifyOp(RITA, 'userPassword', ['resetpass1']))).code).toBe(0);
      admin.close();
      const c = await RawLdap.connect(port);
      expect(await c.bind(RITA, 'resetpass1')).toBe(0);
      const restricted = async () => (await c.request(modifyOp(RITA, 'description', ['x']))).code;
      expect(await restricted()).toBe(ResultCode.insufficientAccessRights);
      const change = modifyOp(RITA, 'userPassword', ['newpassword9']);
      let m = await c.request(extended(OID.txnStart));
      expect((await c.request(change, [spec(m.value!)])).code).toBe(0);
      expect((await c.request(extended(OID.txnEnd, endValue(m.value!, false)))).code).toBe(0);
      expect(await restricted()).toBe(ResultCode.insufficientAccessRights);
      m = await c.request(extended(OID.txnStart));
      expect((await c.request(change, [spec(m.value!)])).code).toBe(0);
      expect(await restricted()).toBe(ResultCode.insufficientAccessRights); // queued, not applied
      expect((await c.request(extended(OID.txnEnd, endValue(m.value!)))).code).toBe(0);
      expect(await restricted()).toBe(0);
      c.close();
    } finally {
      await ast.stop();
    }
  });
});
