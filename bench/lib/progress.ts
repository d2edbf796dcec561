/**
 * A one-line progress bar on stderr. On a terminal it redraws in place; otherwise (CI logs)
 * it prints a line when the phase changes or every 10% so logs stay short.
 */
const WIDTH = 28;

export class Progress {
  private phase = '';
  private lastPrintedTenth = -1;
  private readonly tty = process.stderr.isTTY === true;
  private readonly startedAt = Date.now();

  /** Sets the phase and fraction done (0..1) of the current phase. */
  update(phase: string, fraction: number, detail = ''): void {
    const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
    const filled = Math.round(f * WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled);
    const elapsed = ((Date.now() - this.startedAt) / 1000).toFixed(0);
    const line = `${phase.padEnd(30)} ${bar} ${String(Math.round(f * 100)).padStart(3)}% ${detail} [${elapsed}s]`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
    } else {
      const tenth = Math.floor(f * 10);
      if (phase !== this.phase || tenth !== this.lastPrintedTenth) process.stderr.write(`${line}\n`);
      this.lastPrintedTenth = tenth;
    }
    this.phase = phase;
  }

  /** Prints a message on its own line without breaking the bar. */
  log(message: string): void {
    process.stderr.write(this.tty ? `\r\x1b[2K${message}\n` : `${message}\n`);
  }

  done(): void {
    if (this.tty) process.stderr.write('\r\x1b[2K');
  }
}
