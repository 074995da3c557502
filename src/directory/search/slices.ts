// Time slices for long searches: a search (or the compiling of a large filter) runs for SLICE_MS,
// then lets other connections' work in, and stops at its next checkpoint once it has been
// abandoned, its client has gone, or its time is up.

import type { Checkpoint } from '../filter.js';

/** How long a search runs before other connections get their turn. */
const SLICE_MS = 10;

export class Slicer {
  private sliceStart = Date.now();

  /** `check` throws when the search must stop (abandon, disconnect, time limit). */
  constructor(private readonly check: () => void) {}

  /** Undefined while the slice lasts; then a Promise that yields the event loop once, and checks. */
  readonly checkpoint: Checkpoint = () => (Date.now() - this.sliceStart < SLICE_MS ? undefined : this.yieldSlice());

  private async yieldSlice(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = Date.now();
    this.check();
  }
}
