// Who replicates from this server and how far behind they are: each sync consumer (RFC 4533,
// by its identity, address and replica id) and persistent search, live or last seen, with the
// commits it has not been sent yet. Counted in committed write batches (one per transaction),
// so the figures cost an increment per commit and nothing per entry.

/** One consumer as an operator sees it. */
export interface ConsumerStatus {
  consumer: string;
  /** refreshOnly, refreshAndPersist, or persistent search. */
  mode: string;
  /** Searches of this consumer open now (0: it polls, or it went away). */
  active: number;
  /** Commits since the newest one it was sent. */
  lagChanges: number;
  /** How much older its newest change is than the newest commit (0 when up to date). */
  lagSeconds: number;
  lastSeen: string;
}

interface Consumer {
  consumer: string;
  mode: string;
  active: number;
  /** Commits it has been sent (all of them up to this count). */
  seen: number;
  lastSeen: number;
}

/** Commit times kept, for the lag in seconds. */
const TIMES = 4096;
/** Consumers remembered at most (the oldest that is not connected goes first). */
const MAX_CONSUMERS = 256;

export class SyncConsumers {
  private commits = 0;
  /** When each of the last commits was made, by commit number (for the lag in seconds). */
  private readonly times = new Map<number, number>();
  private readonly consumers = new Map<string, Consumer>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A write batch was committed. */
  committed(): void {
    this.commits++;
    this.times.set(this.commits, this.now());
    // The last TIMES commits' times: a consumer further behind is shown at least that old.
    if (this.times.size > TIMES) this.times.delete(this.commits - TIMES);
  }

  /** The commits so far: a search that subscribes now has been sent everything up to here once its refresh ends. */
  get count(): number {
    return this.commits;
  }

  /** A consumer's search starts; the handle records what it was sent and when it ends. */
  begin(consumer: string, mode: string): { caughtUp: (upTo: number) => void; end: () => void } {
    const key = `${mode}\u0000${consumer}`;
    let c = this.consumers.get(key);
    if (!c) {
      this.evict();
      c = { consumer, mode, active: 0, seen: this.commits, lastSeen: this.now() };
      this.consumers.set(key, c);
    }
    const rec = c;
    rec.active++;
    rec.lastSeen = this.now();
    let ended = false;
    return {
      caughtUp: (upTo) => {
        rec.seen = Math.max(rec.seen, Math.min(upTo, this.commits));
        rec.lastSeen = this.now();
      },
      end: () => {
        if (ended) return;
        ended = true;
        rec.active--;
        rec.lastSeen = this.now();
      },
    };
  }

  list(): ConsumerStatus[] {
    const newest = this.times.get(this.commits);
    return [...this.consumers.values()].map((c) => {
      const lag = this.commits - c.seen;
      // The first commit it lacks: its age against the newest is how far behind it is.
      const firstMissing = this.times.get(Math.max(c.seen + 1, this.commits - this.times.size + 1));
      const lagSeconds = lag && newest !== undefined ? Math.max(0, Math.round((this.now() - (firstMissing ?? newest)) / 1000)) : 0;
      return {
        consumer: c.consumer,
        mode: c.mode,
        active: c.active,
        lagChanges: lag,
        lagSeconds,
        lastSeen: new Date(c.lastSeen).toISOString(),
      };
    });
  }

  private evict(): void {
    if (this.consumers.size < MAX_CONSUMERS) return;
    for (const [k, c] of this.consumers) {
      if (c.active === 0) {
        this.consumers.delete(k);
        return;
      }
    }
  }
}
