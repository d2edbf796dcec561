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
