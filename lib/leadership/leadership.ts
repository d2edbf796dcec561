/**
 * Leader election for replicated managers (`manage --replication`, classic section 2.4): every
 * manager campaigns for the TTL lock `<prefix>/docker/swarm/leader` (value: its --advertise
 * address) and follows that key. The holder is the primary; the others are replicas that know
 * the primary's address from the key.
 *
 * Unlike classic:
 * - a primary counts itself primary only while its lock is certainly held (`isPrimary()` checks
 *   the lease deadline on every call, see lib/kv/lease.ts), so a primary cut off from the store
 *   stops acting before its lock can expire and pass to a replica: never two primaries;
 * - campaigning and following retry every second through store outages, so the cluster finds
 *   exactly one primary again when the store returns, without restarting managers;
 * - `resign()` (SIGTERM/SIGINT) deletes the lock at once, so a replica takes over in about a
 *   second instead of after the TTL.
 */
import { EventEmitter } from 'node:events';
import type { HeldLock, Lock, Store } from '../kv/store';
import { normalizeKey } from '../kv/store';
import { log } from '../log';

/** Classic's key, relative to the discovery URL's prefix (not affected by kv.path). */
export const LEADER_KEY = 'docker/swarm/leader';
const RETRY_MS = 1000;

export interface RoleView {
  role: 'primary' | 'replica';
  /** The primary's advertise address, when this manager is a replica that knows it. */
  primary?: string;
}

/** What the API server and the rescheduler ask of leadership. */
export interface Role {
  /** True only while this manager may act as primary (checked before every write it makes). */
  isPrimary(): boolean;
  /** The address to forward to when not primary (undefined: none known right now). */
  primaryAddress(): string | undefined;
  view(): RoleView;
  /** This manager's own --advertise address (undefined without replication). */
  readonly advertise?: string;
  /** Emits 'change' whenever isPrimary() or primaryAddress() may have changed. */
  on(event: 'change', listener: () => void): this;
  off(event: 'change', listener: () => void): this;
}

/** Without --replication the manager is always primary. */
export class StandaloneRole extends EventEmitter implements Role {
  readonly advertise = undefined;
  isPrimary(): boolean {
    return true;
  }
  primaryAddress(): string | undefined {
    return undefined;
  }
  view(): RoleView {
    return { role: 'primary' };
  }
}

export interface LeadershipOptions {
  store: Store;
  /** The discovery URL's key prefix. */
  prefix: string;
  advertise: string;
  ttlMs: number;
}

export class Leadership extends EventEmitter implements Role {
  readonly advertise: string;
  private readonly key: string;
  private readonly lock: Lock;
  private held?: HeldLock;
  private leaderValue?: string;
  private stopped = false;
  private stopFollow?: () => void;
  private retryTimer?: NodeJS.Timeout;
  private validityTimer?: NodeJS.Timeout;

  constructor(private readonly options: LeadershipOptions) {
    super();
    this.setMaxListeners(0); // every request waiting for a primary listens for 'change'
    this.advertise = options.advertise;
    this.key = normalizeKey(`${options.prefix}/${LEADER_KEY}`);
    this.lock = options.store.createLock(this.key, { value: options.advertise, ttlMs: options.ttlMs });
  }

  start(): void {
    void this.campaign();
    this.follow();
  }

  isPrimary(): boolean {
    return Boolean(this.held?.isValid());
  }

  primaryAddress(): string | undefined {
    if (this.isPrimary()) return this.advertise;
    // Our own address in the key while we are not (or no longer certainly) primary: stale.
    return this.leaderValue && this.leaderValue !== this.advertise ? this.leaderValue : undefined;
  }

  view(): RoleView {
    if (this.isPrimary()) return { role: 'primary' };
    const primary = this.primaryAddress();
    return primary ? { role: 'replica', primary } : { role: 'replica' };
  }

  /** Gives the lock up at once (clean shutdown) and stops campaigning. */
  async resign(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.validityTimer);
    this.stopFollow?.();
    const wasPrimary = this.isPrimary();
    this.held = undefined;
    await this.lock.release().catch((err: Error) => log.warn('Leader Election: could not release the lock', { error: err.message }));
    if (wasPrimary) log.info('Leader Election: resigned');
    this.emit('change');
  }

  private async campaign(): Promise<void> {
    while (!this.stopped) {
      let held: HeldLock;
      try {
        held = await this.lock.acquire();
      } catch (err) {
        log.debug('Leader Election: campaign failed, retrying', { error: (err as Error).message });
        await sleep(RETRY_MS);
        continue;
      }
      if (this.stopped) {
        await this.lock.release().catch(() => undefined);
        return;
      }
      this.held = held;
      log.info('Leader Election: Cluster leadership acquired', { advertise: this.advertise });
      this.emit('change');
      this.watchValidity(held);
      await held.lost;
      if (this.held === held) this.held = undefined;
      clearTimeout(this.validityTimer);
      if (this.stopped) return;
      log.warn('Leader Election: Cluster leadership lost');
      this.emit('change');
      await sleep(RETRY_MS);
    }
  }

  /** isPrimary() turns false at the lease deadline even before `lost` settles: tell listeners. */
  private watchValidity(held: HeldLock): void {
    clearTimeout(this.validityTimer);
    this.validityTimer = setInterval(() => {
      if (this.held === held && !held.isValid()) {
        clearInterval(this.validityTimer);
        this.emit('change');
      }
    }, 100);
    this.validityTimer.unref();
  }

  private follow(): void {
    if (this.stopped) return;
    this.stopFollow = this.options.store.watch(this.key, {
      onValue: (pair) => {
        const value = pair?.value || undefined;
        if (value === this.leaderValue) return;
        this.leaderValue = value;
        if (value && value !== this.advertise) log.info(`New leader elected: ${value}`);
        this.emit('change');
      },
      onError: (err) => {
        log.warn('Leader Election: watch leader channel closed, the store may be unavailable...', { error: err.message });
        this.retryTimer = setTimeout(() => this.follow(), RETRY_MS);
      },
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
