/**
 * The cluster's merged event stream. Every engine event (tagged with its node) and swarm's own
 * engine_connect/disconnect/reconnect events pass through here. A bounded history lets
 * `docker events --since` replay the past, which classic swarm could not.
 */
import type { DockerEvent } from '../engine/engine';

export type EventListener = (event: DockerEvent) => void;

export class EventHub {
  /** Ring buffer of the last `limit` events; `next` is where the next one goes. */
  private readonly history: DockerEvent[] = [];
  private next = 0;
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly limit = 10_000) {}

  get listenerCount(): number {
    return this.listeners.size;
  }

  publish(event: DockerEvent): void {
    if (this.history.length < this.limit) this.history.push(event);
    else this.history[this.next] = event;
    this.next = (this.next + 1) % this.limit;
    for (const listener of this.listeners) listener(event);
  }

  /** Events recorded at or after `sinceNano` (and at or before `untilNano`). */
  replay(sinceNano: number, untilNano = Infinity): DockerEvent[] {
    const ordered = this.history.length < this.limit ? this.history : [...this.history.slice(this.next), ...this.history.slice(0, this.next)];
    return ordered.filter((e) => e.timeNano >= sinceNano && e.timeNano <= untilNano);
  }

  /** The last `count` events, oldest first. */
  recent(count: number): DockerEvent[] {
    const n = Math.min(count, this.history.length);
    const out: DockerEvent[] = [];
    for (let i = n; i > 0; i--) out.push(this.history[(this.next - i + this.history.length) % this.history.length]);
    return out;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
