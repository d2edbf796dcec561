/**
 * Reused fixed-size buffers for large response bodies (see BodyWriter), sized by the load.
 *
 * Under load every body in flight holds a chunk or two until its client has read them. With
 * 200 clients listing 30,000 containers, a pool capped at 16 chunks missed on almost every
 * chunk: ~2,300 fresh 256 KB buffers a second. Those are external memory that only V8's
 * collector frees, and V8 answered the growth with a full collection twice a second ("external
 * memory pressure" in --trace-gc: 49 in 27 s, pauses 9-19 ms), which put the event loop's
 * delay at 67-93 ms. Kept instead, the same load ran 3 full collections, with a loop delay max
 * of 38 ms and 30% more listings per second.
 *
 * So the pool keeps what is released, up to `max`, and every `trimMs` gives back the chunks
 * that stayed free through the whole interval (down to `kept`): memory follows the load, and a
 * burst that is over returns it within two intervals.
 */
export class ChunkPool {
  /** Free chunks, most recently released last: the ones at the start have been idle longest. */
  private readonly free: Buffer[] = [];
  /** The fewest free chunks since the last trim: that many were not needed in the interval. */
  private fewestFree = 0;
  private timer?: NodeJS.Timeout;
  /** Fresh buffers allocated because the pool was empty. */
  allocated = 0;

  /**
   * @param chunkBytes size of every chunk
   * @param kept free chunks kept however idle the pool is
   * @param max free chunks kept at most
   * @param trimMs how often chunks unused through an interval are given back
   */
  constructor(
    readonly chunkBytes: number,
    private readonly kept: number,
    private readonly max: number,
    private readonly trimMs: number,
  ) {}

  get freeCount(): number {
    return this.free.length;
  }

  acquire(): Buffer {
    const chunk = this.free.pop();
    if (this.free.length < this.fewestFree) this.fewestFree = this.free.length;
    if (chunk) return chunk;
    this.allocated++;
    return Buffer.allocUnsafeSlow(this.chunkBytes);
  }

  release(chunk: Buffer): void {
    if (this.free.length >= this.max) return;
    this.free.push(chunk);
    if (this.free.length > this.kept && !this.timer) {
      this.timer = setInterval(() => this.trim(), this.trimMs);
      this.timer.unref();
    }
  }

  /** Gives back the chunks that were free through the whole interval, down to `kept`. */
  trim(): void {
    const unused = Math.min(this.fewestFree, this.free.length - this.kept);
    if (unused > 0) this.free.splice(0, unused);
    this.fewestFree = this.free.length;
    if (this.free.length <= this.kept && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
