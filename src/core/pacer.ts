// Pacing a loop that converges after bursts of events (kvmnet watch). Each event pushes the next pass back to SETTLE
// after it, so a burst (a flush, a reload) gives one pass; a pass due while one runs is one more round of it; and
// when BURST passes in a row each changed something within WINDOW, something keeps undoing the work: the next pass
// waits WINDOW instead of fighting it as fast as it can. Pure: the caller passes the time in and owns the timer.

/** How passes are paced: the quiet time after an event, and how many changing passes within WINDOW_MS are too many. */
export interface Pacing {
  settleMs: number;
  burst: number;
  windowMs: number;
}

/** The pacing and back-off of the passes of one loop; times are the caller's clock (ms). */
export class Pacer {
  private running = false;
  private again = false;
  private holdUntil = 0;
  /** Times of the last passes that changed something, at most BURST. */
  private readonly changed: number[] = [];

  constructor(private readonly p: Pacing) {}

  /** An event came at NOW: (re)arm the timer this many ms later (SETTLE, or longer while backing off). */
  delay(now: number): number {
    return Math.max(this.p.settleMs, this.holdUntil - now);
  }

  /** The timer fired: true to start a pass now; false while one runs (that one then goes round once more). */
  start(): boolean {
    if (this.running) {
      this.again = true;
      return false;
    }
    this.running = true;
    this.again = false;
    return true;
  }

  /** A round of the running pass is done: true to go round again (a pass came due meanwhile). */
  another(): boolean {
    const again = this.again;
    this.again = false;
    return again;
  }

  /** The running pass is over (done, or failed): the next one may start. */
  end(): void {
    this.running = false;
  }

  /** A round at NOW carried out STEPS steps. True when that makes BURST changing rounds within WINDOW: the next
   *  pass then waits WINDOW (delay), and counting starts afresh. */
  roundDone(now: number, steps: number): boolean {
    if (steps === 0) return false;
    this.changed.push(now);
    if (this.changed.length > this.p.burst) this.changed.shift();
    if (this.changed.length < this.p.burst || now - this.changed[0]! >= this.p.windowMs) return false;
    this.holdUntil = now + this.p.windowMs;
    this.changed.length = 0;
    return true;
  }
}
