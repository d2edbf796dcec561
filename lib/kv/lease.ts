/**
 * The holder's side of a TTL lock: renew it, and decide on the holder's own clock when it can no
 * longer be sure it still holds it. This is what keeps two managers from acting as primary at
 * once (classic's ZooKeeper leaders never noticed losing the lock, section 2.4).
 *
 * A renewal is one round trip that confirms ownership. If a renewal sent at time t is
 * confirmed, the store keeps the lock at least until t + guaranteeMs (etcd: the lease TTL;
 * ZooKeeper: the session timeout; Consul: the session TTL, which Consul enforces between 1x and
 * 2x). Nobody else can take the lock before that moment, so the holder counts itself the holder
 * only until t + guaranteeMs - margin: with a dead store it stops acting before the lock can
 * pass to someone else. The margin (a quarter of the guarantee) covers timer lateness.
 */
export interface LeaseKeeperOptions {
  /** How long the store keeps the lock after a confirmed renewal, counted from its send time. */
  guaranteeMs: number;
  /** When the request that took the lock was sent. */
  acquiredAt: number;
  /** One renewal round trip: true if still ours, false if the store says it is gone. Throws when unreachable. */
  renew: () => Promise<boolean>;
}

export class LeaseKeeper {
  /** Resolves once the lock is lost, released, or can no longer be counted on. */
  readonly lost: Promise<void>;
  private confirmedAt: number;
  private done = false;
  private renewTimer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  private resolveLost!: () => void;
  private readonly safeMs: number;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.confirmedAt = options.acquiredAt;
    this.safeMs = Math.floor((options.guaranteeMs * 3) / 4);
    this.lost = new Promise<void>((resolve) => (this.resolveLost = resolve));
    this.armDeadline();
    this.scheduleRenew();
  }

  /** The moment (ms since epoch) until which the holder may act as the holder. */
  get validUntil(): number {
    return this.done ? 0 : this.confirmedAt + this.safeMs;
  }

  /** True while the lock is held and its last confirmation is recent enough. */
  get valid(): boolean {
    return !this.done && Date.now() < this.validUntil;
  }

  /** Stops renewing and resolves `lost` (after a release, or when the store said it is gone). */
  end(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.deadlineTimer);
    this.resolveLost();
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      if (Date.now() >= this.validUntil) this.end();
      else this.armDeadline();
    }, Math.max(1, this.validUntil - Date.now()));
  }

  /** Renews five times per guarantee, so three renewals in a row may fail before it is given up. */
  private scheduleRenew(): void {
    if (this.done) return;
    this.renewTimer = setTimeout(async () => {
      const sentAt = Date.now();
      try {
        const mine = await this.options.renew();
        if (this.done) return;
        if (!mine) return this.end();
        this.confirmedAt = Math.max(this.confirmedAt, sentAt);
        this.armDeadline();
      } catch {
        // Unreachable store: keep trying until the deadline gives up.
      }
      this.scheduleRenew();
    }, Math.max(100, Math.floor(this.options.guaranteeMs / 5)));
  }
}
