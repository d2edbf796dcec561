/**
 * A streaming tar reader that keeps only the small metadata files of a `docker save` archive
 * (`manifest.json`, `repositories`) and skips everything else, so a 50 MB image load costs
 * the simulator no memory. Chunks arrive in any size; the parser is a two-state machine.
 */
const BLOCK = 512;
const WANTED = new Set(['manifest.json', 'repositories']);
const MAX_METADATA = 1 << 20;

export interface TarSummary {
  /** Wanted file contents by name. */
  files: Map<string, string>;
  /** Number of entries seen (files, directories, links). */
  entries: number;
  /** Total payload bytes consumed. */
  bytes: number;
  /** True when the archive ended cleanly (on a header boundary). */
  complete: boolean;
}

export class TarMetadataReader {
  private header = Buffer.alloc(0);
  private remaining = 0; // payload + padding bytes left in the current entry
  private capture?: { name: string; size: number; chunks: Buffer[]; got: number };
  private ended = false;
  readonly summary: TarSummary = { files: new Map(), entries: 0, bytes: 0, complete: false };

  write(chunk: Buffer): void {
    this.summary.bytes += chunk.length;
    let offset = 0;
    while (offset < chunk.length && !this.ended) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.collect(chunk.subarray(offset, offset + take));
        this.remaining -= take;
        offset += take;
        if (this.remaining === 0) this.finishEntry();
        continue;
      }
      const need = BLOCK - this.header.length;
      const take = Math.min(need, chunk.length - offset);
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (this.header.length === BLOCK) this.startEntry();
    }
  }

  /** Call at end of input; `complete` tells whether the archive was whole. */
  end(): TarSummary {
    this.summary.complete = this.ended || (this.remaining === 0 && this.header.length === 0 && this.summary.entries > 0);
    return this.summary;
  }

  private startEntry(): void {
    const header = this.header;
    this.header = Buffer.alloc(0);
    if (header.every((b) => b === 0)) {
      this.ended = true; // end-of-archive marker
      return;
    }
    const name = cString(header.subarray(0, 100));
    const prefix = cString(header.subarray(345, 500));
    const size = parseInt(cString(header.subarray(124, 136)).trim() || '0', 8);
    const fullName = (prefix ? `${prefix}/${name}` : name).replace(/^\.\//, '');
    this.summary.entries++;
    this.remaining = Math.ceil(size / BLOCK) * BLOCK;
    this.capture = WANTED.has(fullName) && size <= MAX_METADATA ? { name: fullName, size, chunks: [], got: 0 } : undefined;
    if (this.remaining === 0) this.finishEntry();
  }

  private collect(part: Buffer): void {
    if (!this.capture || this.capture.got >= this.capture.size) return;
    const keep = part.subarray(0, this.capture.size - this.capture.got);
    this.capture.chunks.push(Buffer.from(keep));
    this.capture.got += keep.length;
  }

  private finishEntry(): void {
    if (this.capture) this.summary.files.set(this.capture.name, Buffer.concat(this.capture.chunks).toString('utf8'));
    this.capture = undefined;
  }
}

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? buf.length : nul).toString('utf8');
}
