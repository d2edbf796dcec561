/**
 * A counting semaphore: at most `limit` tasks run at once, the others wait in order. Used where
 * thousands of engines would otherwise all start the same work in one event-loop turn.
 */
export class Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * At most `perSecond` grants a second on average, with up to a second's worth saved for a burst
 * (a token bucket). For background work whose total must not grow with the number of engines.
 */
export class RateBudget {
  private tokens: number;
  private filledAt: number;
  constructor(private readonly perSecond: number, private readonly now: () => number = Date.now) {
    this.tokens = perSecond;
    this.filledAt = now();
  }

  /** True (and one grant used) if the budget allows one more now. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.filledAt) / 1000) * this.perSecond);
    this.filledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
