/**
 * The `/events` side of one simulated engine: a bounded log of recent events (for `since`)
 * and the live subscribers. No timers: events are pushed synchronously when the engine acts.
 */
import { labelsMatch } from './docker-format';

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'daemon';

export interface SimEvent {
  type: EventType;
  action: string;
  actorId: string;
  attributes: Record<string, string>;
  /** Unix time in nanoseconds, as a decimal string (it does not fit a double exactly). */
  timeNano: string;
  /** The newline-terminated JSON line written to subscribers, rendered once. */
  line: string;
}

/** Which events a subscriber wants: dockerd's `filters` (type, event, container, image, label, ...). */
export type EventFilter = Map<string, string[]>;

export interface EventSubscriber {
  filter: EventFilter;
  send(event: SimEvent): void;
}

let lastNano = 0n;

/** A strictly increasing nanosecond clock, so `since` comparisons are exact and ordered. */
function nowNano(): bigint {
  let t = BigInt(Date.now()) * 1_000_000n;
  if (t <= lastNano) t = lastNano + 1n;
  lastNano = t;
  return t;
}

export class EventHub {
  private readonly recent: SimEvent[] = [];
  private readonly subscribers = new Set<EventSubscriber>();

  /** @param capacity how many past events are kept for `since` (dockerd keeps 256). */
  constructor(private readonly capacity: number) {}

  get listenerCount(): number {
    return this.subscribers.size;
  }

  emit(type: EventType, action: string, actorId: string, attributes: Record<string, string>): SimEvent {
    const nano = nowNano();
    const time = nano / 1_000_000_000n;
    const actor = JSON.stringify({ ID: actorId, Attributes: attributes });
    // Containers and images also carry the pre-1.22 fields (status/id/from), as dockerd does.
    const legacy =
      type === 'container' || type === 'image'
        ? `"status":${JSON.stringify(action)},"id":${JSON.stringify(actorId)},` +
          (attributes.image !== undefined ? `"from":${JSON.stringify(attributes.image)},` : '')
        : '';
    const line =
      `{${legacy}"Type":"${type}","Action":${JSON.stringify(action)},"Actor":${actor},` +
      `"scope":"local","time":${time},"timeNano":${nano}}\n`;
    const event: SimEvent = { type, action, actorId, attributes, timeNano: nano.toString(), line };
    if (this.capacity > 0) {
      this.recent.push(event);
      if (this.recent.length > this.capacity) this.recent.shift();
    }
    for (const subscriber of this.subscribers) {
      if (eventMatches(event, subscriber.filter)) subscriber.send(event);
    }
    return event;
  }

  /** Past events within (sinceNano, untilNano], oldest first. */
  replay(sinceNano: bigint, untilNano: bigint | undefined, filter: EventFilter): SimEvent[] {
    return this.recent.filter((event) => {
      const t = BigInt(event.timeNano);
      return t > sinceNano && (untilNano === undefined || t <= untilNano) && eventMatches(event, filter);
    });
  }

  subscribe(subscriber: EventSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }
}

/** dockerd's event filter semantics: OR within one key, AND across keys. */
export function eventMatches(event: SimEvent, filter: EventFilter): boolean {
  for (const [key, values] of filter) {
    if (values.length === 0) continue;
    switch (key) {
      case 'type':
        if (!values.includes(event.type)) return false;
        break;
      case 'event':
        if (!values.some((v) => event.action === v || event.action.startsWith(`${v}:`))) return false;
        break;
      case 'container':
        if (event.type !== 'container' || !values.some((v) => v === event.actorId || v === event.attributes.name || event.actorId.startsWith(v))) return false;
        break;
      case 'image':
        if (!values.some((v) => v === event.attributes.image || (event.type === 'image' && v === event.actorId))) return false;
        break;
      case 'network':
      case 'volume':
        if (event.type !== key || !values.some((v) => v === event.actorId || v === event.attributes.name)) return false;
        break;
      case 'label':
        if (!values.some((v) => labelsMatch([v], event.attributes))) return false;
        break;
      default:
        // dockerd ignores unknown keys only for forward compatibility; reject nothing here.
        break;
    }
  }
  return true;
}

/**
 * Parses dockerd's `since`/`until` values: unix seconds with an optional fraction
 * (`1795251806.123456789`) or an RFC 3339 date. Returns nanoseconds.
 */
export function parseEventTime(value: string): bigint | undefined {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (m) return BigInt(m[1]) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : BigInt(ms) * 1_000_000n;
}
