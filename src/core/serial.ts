// One thing at a time in one process: `kvmnet watch` runs its passes and the hooks it serves in turn, so that no
// two converge runs of one process interleave (the network locks order processes, not the runs of one).

/** Runs the functions given to run() one after another, in the order given. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  /** FN's result, once every function given before it has finished (whether it failed or not). */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => {});
    return next;
  }
}
