// A minimal LDAP client on a raw socket for searches that never end (persistent and sync
// searches in refreshAndPersist mode): no client library streams them. It binds, starts a
// search with any controls, and hands back every message of it as it arrives, decoded with the
// project's BER reader.

import net from 'node:net';
import { BerReader, BerWriter, readFrameHeader, Tag } from '../../src/protocol/ber.js';

export interface RawControl {
  oid: string;
  critical?: boolean;
  value?: Buffer;
}

export interface RawMessage {
  messageId: number;
  /** 0x61 bind, 0x64 entry, 0x65 search done, 0x79 intermediate. */
  tag: number;
  dn?: string;
  /** Attribute types of an entry, lowercased. */
  types?: string[];
  code?: number;
  /** A result's diagnosticMessage. */
  message?: string;
  /** Intermediate and extended responses: name and value. */
  name?: string;
  value?: Buffer;
  controls: RawControl[];
}

function readControls(r: BerReader): RawControl[] {
  const out: RawControl[] = [];
  if (r.peek() !== 0xa0) return out;
  const outer = r.enter(0xa0);
  while (!r.atEnd()) {
    const c = r.enter(Tag.sequence);
    const oid = r.readString();
    let critical = false;
    let value: Buffer | undefined;
    if (r.peek() === Tag.boolean) critical = r.readBoolean();
    if (r.peek() === Tag.octetString) value = Buffer.from(r.readOctets());
    r.leave(c);
    out.push({ oid, critical, ...(value ? { value } : {}) });
  }
  r.leave(outer);
  return out;
}

function decode(buf: Buffer): RawMessage {
  const r = new BerReader(buf);
  const outer = r.enter(Tag.sequence);
  const messageId = r.readInteger();
  const tag = r.peek();
  const op = r.enter();
  const msg: RawMessage = { messageId, tag, controls: [] };
  if (tag === 0x64) {
    msg.dn = r.readString();
    msg.types = [];
    const attrs = r.enter(Tag.sequence);
    while (!r.atEnd()) {
      const a = r.enter(Tag.sequence);
      msg.types.push(r.readString().toLowerCase());
      r.leave(a);
    }
    r.leave(attrs);
  } else if (tag === 0x79) {
    if (r.peek() === 0x80) msg.name = r.readString(0x80);
    if (r.peek() === 0x81) msg.value = Buffer.from(r.readOctets(0x81));
  } else {
    msg.code = r.readEnumerated();
    r.readString(); // matchedDN
    msg.message = r.readString();
    if (tag === 0x78) {
      // An extended response's responseName [10] and responseValue [11].
      if (r.peek() === 0x8a) msg.name = r.readString(0x8a);
      if (r.peek() === 0x8b) msg.value = Buffer.from(r.readOctets(0x8b));
    }
  }
  r.leave(op);
  msg.controls = readControls(r);
  r.leave(outer);
  return msg;
}

export class RawLdap {
  private readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private readonly messages: RawMessage[] = [];
  /** Every next() waiting (several may wait at once: pipelined requests). */
  private readonly waiters = new Set<() => void>();
  private nextId = 1;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (;;) {
        const h = readFrameHeader(this.buf, 0, 1 << 24);
        if (!h || this.buf.length < h.headerLength + h.length) break;
        const total = h.headerLength + h.length;
        this.messages.push(decode(this.buf.subarray(0, total)));
        this.buf = this.buf.subarray(total);
      }
      for (const w of [...this.waiters]) w();
    });
  }

  static connect(port: number): Promise<RawLdap> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawLdap(s)));
      s.once('error', reject);
    });
  }

  private send(build: (w: BerWriter, id: number) => void, controls: RawControl[] = []): number {
    const id = this.nextId++;
    const w = new BerWriter(256);
    w.startSequence();
    w.writeInteger(id);
    build(w, id);
    if (controls.length) {
      w.startSequence(0xa0);
      for (const c of controls) {
        w.startSequence();
        w.writeString(c.oid);
        if (c.critical) w.writeBoolean(true);
        if (c.value) w.writeOctets(c.value);
        w.endSequence();
      }
      w.endSequence();
    }
    w.endSequence();
    this.socket.write(w.toBuffer());
    return id;
  }

  /** The next message matching pred (earlier ones that do not match stay queued), within ms. */
  async next(pred: (m: RawMessage) => boolean, ms = 10_000): Promise<RawMessage> {
    const until = Date.now() + ms;
    for (;;) {
      const i = this.messages.findIndex(pred);
      if (i >= 0) return this.messages.splice(i, 1)[0]!;
      const left = until - Date.now();
      if (left <= 0) throw new Error('no matching LDAP message in time');
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(t);
          this.waiters.delete(wake);
          resolve();
        };
        const t = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** Messages received so far that match pred, removed from the queue. */
  take(pred: (m: RawMessage) => boolean): RawMessage[] {
    const out = this.messages.filter(pred);
    for (const m of out) this.messages.splice(this.messages.indexOf(m), 1);
    return out;
  }

  async bind(dn: string, password: string): Promise<number> {
    const id = this.send((w) => {
      w.startSequence(0x60);
      w.writeInteger(3);
      w.writeString(dn);
      w.writeString(password, 0x80);
      w.endSequence();
    });
    return (await this.next((m) => m.messageId === id)).code!;
  }

  /** Sends one request (build writes its protocolOp) with controls; resolves with the response. */
  async request(build: (w: BerWriter) => void, controls: RawControl[] = []): Promise<RawMessage> {
    const id = this.send((w) => build(w), controls);
    return this.next((m) => m.messageId === id);
  }

  /** Starts a subtree search for (objectClass=*) with all user and operational attributes. */
  search(base: string, controls: RawControl[], attributes = ['*', '+']): number {
    return this.send((w) => {
      w.startSequence(0x63);
      w.writeString(base);
      w.writeEnumerated(2);
      w.writeEnumerated(0);
      w.writeInteger(0);
      w.writeInteger(0);
      w.writeBoolean(false);
      w.writeString('objectClass', 0x87);
      w.startSequence();
      for (const a of attributes) w.writeString(a);
      w.endSequence();
      w.endSequence();
    }, controls);
  }

  abandon(messageId: number): void {
    this.send((w) => w.writeInteger(messageId, 0x50));
  }

  /** Stops reading the socket (a consumer that stalls); resume() reads on. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }
}
