// Splits a connection's byte stream into LDAPMessage frames: holds the bytes of an incomplete
// frame, refuses an envelope that is not a SEQUENCE or is larger than the PDU limit.

import { BerError, readFrameHeader, Tag } from './ber.js';

export type FrameHandler = (buf: Buffer, start: number, end: number) => void;

export class Framer {
  // Received chunks not yet consumed, and the size of the frame being awaited.
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = 0;

  constructor(private readonly maxPduSize: number) {}

  /** Bytes held of a frame that has not arrived completely. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Adds a chunk and hands every complete frame to onFrame, until stopped() says so; true when
   * at least one frame was completed. A broken envelope throws a BerError.
   */
  push(chunk: Buffer, onFrame: FrameHandler, stopped: () => boolean): boolean {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // Concatenate only once the awaited frame is complete: a large PDU is copied once.
    if (this.need > 0 && this.buffered < this.need) return false;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    this.reset();
    let off = 0;
    while (off < buf.length && !stopped()) {
      const h = readFrameHeader(buf, off, this.maxPduSize);
      if (h === undefined) break;
      if (h.tag !== Tag.sequence) throw new BerError('unexpected-tag', `LDAPMessage tag 0x${h.tag.toString(16)}`);
      const total = h.headerLength + h.length;
      if (buf.length - off < total) {
        this.need = total;
        break;
      }
      onFrame(buf, off, off + total);
      off += total;
    }
    if (off < buf.length && !stopped()) {
      this.chunks.push(buf.subarray(off));
      this.buffered = buf.length - off;
    }
    return off > 0;
  }

  /** Drops whatever is held. */
  reset(): void {
    this.chunks = [];
    this.buffered = 0;
    this.need = 0;
  }
}
