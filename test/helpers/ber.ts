// Hand-made LDAPMessages for tests that speak to the server below the level of a client library
// (fuzzing, abandon and unbind mid-search), and a reader that splits the server's answers into
// messages (message ID and protocolOp tag).

import type net from 'node:net';

export function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
export const int = (v: number) => tlv(0x02, Buffer.from([v & 0x7f]));
export const str = (s: string | Buffer, tag = 0x04) => tlv(tag, typeof s === 'string' ? Buffer.from(s) : s);
export const msg = (id: number, op: Buffer, controls?: Buffer) => tlv(0x30, Buffer.concat([int(id), op, ...(controls ? [controls] : [])]));

/** A simple bind. */
export const bindRequest = (id: number, dn: string, password: string) =>
  msg(id, tlv(0x60, Buffer.concat([int(3), str(dn), str(password, 0x80)])));
/** A search for (objectClass=*) with no size or time limit; scope 0 base, 1 one, 2 sub. */
export const searchRequest = (id: number, base: string | Buffer, scope: 0 | 1 | 2, controls?: Buffer) =>
  msg(
    id,
    tlv(
      0x63,
      Buffer.concat([
        str(base),
        tlv(0x0a, Buffer.from([scope])),
        tlv(0x0a, Buffer.from([0])),
        int(0),
        int(0),
        tlv(0x01, Buffer.from([0])),
        tlv(0x87, Buffer.from('objectClass')),
        tlv(0x30, Buffer.alloc(0)),
      ]),
    ),
    controls,
  );
export const abandonRequest = (id: number, target: number) => msg(id, tlv(0x50, Buffer.from([target])));
export const unbindRequest = (id: number) => msg(id, Buffer.from([0x42, 0x00]));

export interface Received {
  id: number;
  /** The protocolOp tag: 0x61 bind response, 0x64 entry, 0x65 search done, ... */
  op: number;
}

/** Splits what the server sends into messages; `onMessage` sees each as it completes. */
export function readMessages(socket: net.Socket, onMessage: (m: Received) => void): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1]!;
      let hdr = 2;
      if (len & 0x80) {
        const n = len & 0x7f;
        if (buf.length < 2 + n) return;
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + buf[2 + i]!;
        hdr = 2 + n;
      }
      if (buf.length < hdr + len) return;
      const body = buf.subarray(hdr, hdr + len);
      // messageID INTEGER (short form length), then the protocolOp's tag.
      const idLen = body[1]!;
      let id = 0;
      for (let i = 0; i < idLen; i++) id = id * 256 + body[2 + i]!;
      onMessage({ id, op: body[2 + idLen]! });
      buf = buf.subarray(hdr + len);
    }
  });
}
