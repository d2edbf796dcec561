/**
 * Large response bodies made of many small strings (`docker ps` rows): encoded into reused
 * buffers, and produced in batches that share the event loop fairly with everything else.
 *
 * Reused buffers: joining each batch into a new string and encoding it into a new buffer touched
 * fresh memory twice; on the VMs this runs on, first-touch page faults cost ~4 ms per MB, so a
 * 24 MB listing spent most of its CPU faulting pages in. Encoding into warm 256 KB chunks that go
 * back to a pool sized by the load (ChunkPool) removes that.
 *
 * Fair batches: a producer is a `step` function that appends one batch (about a millisecond of
 * work) and says whether it is done; `docker info`'s 0.3-2.5 MB body is one step. One driver runs the steps of every open listing round-robin
 * for at most SLICE_MS per turn of the event loop, then yields to I/O. With 200 clients listing
 * 30,000 containers at once, each turn still serves new requests (`/_ping` among them) after at
 * most one slice, instead of after one batch of every listing.
 */
import type { ServerResponse } from 'node:http';
import { ChunkPool } from './chunk-pool';

/** Chunks kept however idle (4 MB), at most (128 MB), and how often unused ones are given back. */
const pool = new ChunkPool(256 * 1024, 16, 512, 10_000);
const CHUNK_BYTES = pool.chunkBytes;
/** Byte strings shorter than this are copied into the chunk; longer ones are written as they are. */
const COPY_BELOW_BYTES = 16 * 1024;
/** Work per event-loop turn across all producers before I/O gets its turn ... */
const SLICE_MS = 8;
/**
 * ... and bytes written per turn. Responses are corked until the turn's next tick, so what a
 * slice writes reaches the kernel after the slice, outside SLICE_MS: ready `docker ps` blocks
 * (written without copying) let one slice queue tens of MB, and their flush held the loop for
 * 40-200 ms under 200 clients.
 */
const SLICE_BYTES = 4 * 1024 * 1024;
/** Bytes handed to responses in the current slice. */
let sliceBytes = 0;

interface Producer {
  writer: BodyWriter;
  /** Appends one batch; true when the body is complete. */
  step: () => boolean;
  done: () => void;
}

/** Producers that have not run yet (a `docker info`, a listing's first batch) ... */
const fresh: Producer[] = [];
/** ... and those continuing. A slice alternates between the two queues, so a one-step body is
 * not queued behind a batch of every long listing, and long listings still progress. */
const runnable: Producer[] = [];
let driverScheduled = false;

function scheduleDriver(): void {
  if (driverScheduled || (runnable.length === 0 && fresh.length === 0)) return;
  driverScheduled = true;
  setImmediate(drive);
}

/** Runs producers round-robin for one slice, then yields (setImmediate lands after the I/O poll). */
function drive(): void {
  driverScheduled = false;
  const deadline = performance.now() + SLICE_MS;
  sliceBytes = 0;
  let freshTurn = true;
  while ((runnable.length > 0 || fresh.length > 0) && performance.now() < deadline && sliceBytes < SLICE_BYTES) {
    const producer = ((freshTurn && fresh.length > 0) || runnable.length === 0 ? fresh.shift() : runnable.shift()) as Producer;
    freshTurn = !freshTurn;
    const { writer } = producer;
    let finished = writer.closed;
    if (!finished) {
      try {
        finished = producer.step();
      } catch (err) {
        writer.abort(err as Error);
        finished = true;
      }
    }
    if (finished) {
      if (!writer.closed) writer.end();
      producer.done();
    } else if (writer.congested) {
      // Parked until the client has read what was sent (or went away).
      writer.congested = false;
      writer.whenWritable(() => {
        runnable.push(producer);
        scheduleDriver();
      });
    } else {
      runnable.push(producer);
    }
  }
  scheduleDriver();
}

export class BodyWriter {
  /** Taken from the pool at the first append after a send: an idle `/events` stream holds none. */
  private chunk?: Buffer;
  private used = 0;
  /** The last write was refused until 'drain'. */
  congested = false;

  constructor(private readonly res: ServerResponse) {}

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** Appends UTF-8 text to the body; sends the current chunk first when the text may not fit. */
  append(text: string): void {
    // A UTF-16 code unit is at most 3 UTF-8 bytes: a cheap bound instead of Buffer.byteLength.
    if (CHUNK_BYTES - this.used < text.length * 3) {
      this.send();
      if (CHUNK_BYTES < text.length * 3) {
        sliceBytes += text.length;
        this.congested = !this.res.write(text) || this.congested;
        return;
      }
    }
    this.chunk ??= pool.acquire();
    this.used += this.chunk.write(text, this.used);
  }

  /** Appends bytes: copied when small (a `docker ps` row), else sent as they are (after what is pending). */
  appendBytes(bytes: Buffer): void {
    if (bytes.length >= COPY_BELOW_BYTES) {
      this.send();
      sliceBytes += bytes.length;
      this.congested = !this.res.write(bytes) || this.congested;
      return;
    }
    if (bytes.length > CHUNK_BYTES - this.used) this.send();
    this.chunk ??= pool.acquire();
    this.chunk.set(bytes, this.used);
    this.used += bytes.length;
  }

  /**
   * Produces the body with `step` (one batch per call, true when complete) under the shared
   * driver, then ends the response. Resolves when the body is complete or the client left.
   */
  produce(step: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      fresh.push({ writer: this, step, done: resolve });
      scheduleDriver();
    });
  }

  end(): void {
    this.send();
    this.res.end();
  }

  abort(err: Error): void {
    this.res.destroy(err);
  }

  whenWritable(resume: () => void): void {
    let resumed = false;
    const once = (): void => {
      if (resumed) return;
      resumed = true;
      this.res.off('drain', once);
      this.res.off('close', once);
      resume();
    };
    this.res.on('drain', once);
    this.res.on('close', once);
  }

  /** Writes what was appended so far (a streamed body: a batch of `/events` lines). */
  send(): void {
    const chunk = this.chunk;
    if (!chunk) return;
    this.chunk = undefined;
    if (this.used === 0) return pool.release(chunk);
    sliceBytes += this.used;
    const ok = this.res.write(chunk.subarray(0, this.used), () => pool.release(chunk));
    this.congested = !ok || this.congested;
    this.used = 0;
  }
}
