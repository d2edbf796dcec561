/**
 * Progress of one operation on many engines (pull, import, load), merged into what a person can
 * read at 100 engines: one line per layer saying how many engines are at which step (updated in
 * place by the docker CLI on a terminal, at most every `intervalMs` per layer otherwise), each
 * distinct text line once, an `engines` line counting done/failed, and one closing error that
 * groups the failures by message and names the engines. Pure: the caller feeds engine messages
 * and writes what `emit` receives.
 */

export interface ProgressMessage {
  id?: string;
  status?: string;
  stream?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
  [key: string]: unknown;
}

interface LayerEngine {
  status: string;
  current: number;
  total: number;
}

interface Layer {
  engines: Map<string, LayerEngine>;
  lastEmitted: string;
  lastEmitAt: number;
  dirty: boolean;
}

/** One collator (localeCompare with options builds one per call: slow over hundreds of engines). */
const byName = new Intl.Collator('en', { numeric: true }).compare;

/** Distinct text lines remembered (so each is shown once); beyond this, new texts pass through. */
const MAX_TEXTS = 1000;

/**
 * Distinct texts shown per prefix ("Digest", "Loaded image", "Status"): engines normally agree
 * (one digest for one image), but when each says something else the rest are counted, not
 * printed, and finish() says how many were left out.
 */
const MAX_VARIANTS = 5;

/** "Digest: sha256:..." -> "Digest"; a text without ": " is its own prefix. */
function prefixOf(text: string): string {
  const colon = text.indexOf(': ');
  return colon > 0 ? text.slice(0, colon) : text;
}

export class ProgressAggregator {
  private readonly layers = new Map<string, Layer>();
  private readonly texts = new Set<string>();
  /** Per prefix: distinct texts shown, and how many more were left out. */
  private readonly variants = new Map<string, { shown: number; hidden: number; stream: boolean }>();
  private readonly failures = new Map<string, string[]>();
  private succeeded = 0;
  private failed = 0;
  private started = 0;
  private enginesLastEmit = -Infinity;

  constructor(
    private readonly operation: string,
    private readonly engineCount: number,
    private readonly emit: (message: ProgressMessage) => void,
    private readonly intervalMs = 500,
    private readonly now: () => number = Date.now,
  ) {}

  /** An engine begins (its request is sent). */
  engineStarted(): void {
    this.started++;
    this.emitEngines(false);
  }

  /** One JSON message from an engine's progress stream (errors are reported by engineDone). */
  add(engine: string, message: ProgressMessage): void {
    if (message.id && typeof message.status === 'string') {
      this.addLayer(engine, message.id, message);
      return;
    }
    const text = typeof message.stream === 'string' ? message.stream : typeof message.status === 'string' ? message.status : undefined;
    if (text === undefined || text.trim() === '') return;
    if (this.texts.has(text)) return;
    if (this.texts.size < MAX_TEXTS) this.texts.add(text);
    const stream = typeof message.stream === 'string';
    const prefix = prefixOf(text.trim());
    const variant = this.variants.get(prefix) ?? { shown: 0, hidden: 0, stream };
    this.variants.set(prefix, variant);
    if (variant.shown >= MAX_VARIANTS) {
      variant.hidden++;
      return;
    }
    variant.shown++;
    this.emit(stream ? { stream: text } : { status: text });
  }

  /** An engine finished, with its error if it failed. */
  engineDone(engine: string, error?: string): void {
    if (error) {
      this.failed++;
      const names = this.failures.get(error);
      if (names) names.push(engine);
      else this.failures.set(error, [engine]);
    } else {
      this.succeeded++;
    }
    this.emitEngines(false);
  }

  /** Flushes every layer's last state and writes the summary; returns the closing error, if any. */
  finish(): string | undefined {
    for (const [id, layer] of this.layers) if (layer.dirty) this.emitLayer(id, layer);
    for (const [prefix, variant] of this.variants) {
      if (variant.hidden === 0) continue;
      const text = `${prefix}: ${variant.hidden} more different value${variant.hidden === 1 ? '' : 's'} not shown`;
      this.emit(variant.stream ? { stream: `${text}\n` } : { status: text });
    }
    this.emitEngines(true);
    if (this.failures.size === 0) return undefined;
    const groups = [...this.failures.entries()].map(([error, names]) => `${error} (${names.sort(byName).join(', ')})`);
    return `${this.operation} failed on ${this.failed} of ${this.engineCount} engines: ${groups.join('; ')}`;
  }

  /** Layers whose latest state has not been written yet (flushed by finish or a later message). */
  get pendingLayers(): number {
    return [...this.layers.values()].filter((l) => l.dirty).length;
  }

  private addLayer(engine: string, id: string, message: ProgressMessage): void {
    let layer = this.layers.get(id);
    if (!layer) {
      layer = { engines: new Map(), lastEmitted: '', lastEmitAt: -Infinity, dirty: false };
      this.layers.set(id, layer);
    }
    layer.engines.set(engine, {
      status: message.status ?? '',
      current: message.progressDetail?.current ?? 0,
      total: message.progressDetail?.total ?? 0,
    });
    layer.dirty = true;
    if (this.now() - layer.lastEmitAt >= this.intervalMs) this.emitLayer(id, layer);
  }

  private emitLayer(id: string, layer: Layer): void {
    const counts = new Map<string, number>();
    let current = 0;
    let total = 0;
    for (const state of layer.engines.values()) {
      counts.set(state.status, (counts.get(state.status) ?? 0) + 1);
      current += state.current;
      total += state.total;
    }
    const status = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}/${this.engineCount}`).join(', ');
    layer.dirty = false;
    layer.lastEmitAt = this.now();
    if (status === layer.lastEmitted && total === 0) return;
    layer.lastEmitted = status;
    const message: ProgressMessage = { id, status };
    if (total > 0 && current < total) message.progressDetail = { current, total };
    this.emit(message);
  }

  private emitEngines(final: boolean): void {
    if (!final && this.now() - this.enginesLastEmit < this.intervalMs) return;
    this.enginesLastEmit = this.now();
    const running = this.started - this.succeeded - this.failed;
    const waiting = this.engineCount - this.started;
    const parts = [`${this.succeeded}/${this.engineCount} done`];
    if (this.failed > 0) parts.push(`${this.failed} failed`);
    if (!final) parts.push(`${running} running`, `${waiting} waiting`);
    this.emit({ id: 'engines', status: `${this.operation}: ${parts.join(', ')}` });
  }
}
