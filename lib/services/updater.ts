/**
 * Rolling updates and rollbacks, as one step of the reconciliation pass.
 *
 * The updater keeps no state of its own: everything it needs is in the service (UpdateStatus,
 * with StartedAt marking which tasks belong to this update) and its tasks (SpecHash says which
 * spec a task runs, the running timestamp when it came up). So an update carries on where it
 * was after a manager restart, or on a new primary.
 *
 * One step, with `cfg` = UpdateConfig (RollbackConfig while rolling back):
 *  - failures = tasks of this update that failed (or ended) early; when failures / slots exceeds
 *    MaxFailureRatio, FailureAction decides: pause (UpdateStatus paused), rollback (the previous
 *    spec comes back, rolled out with RollbackConfig), continue;
 *  - in flight = tasks of this update not yet running; at most Parallelism (0: all) at a time;
 *  - after a task comes up, Delay passes before the next one is started;
 *  - a slot is replaced stop-first (old task shut down, then the new one placed) or start-first
 *    (new one placed; the reconciler shuts the old one down once the new one runs);
 *  - done when no slot runs the old spec and every new task has run for Monitor.
 */
import { TERMINAL_STATES, isoNow, specHash, updateConfigOf, type Service, type Task } from './model';
import type { ServiceStore } from './store';

export interface UpdateContext {
  store: ServiceStore;
  now: number;
  /** Creates a task of the service's current spec in a slot (global: on a node). */
  newTask(slot: number, nodeId: string): Task;
  shutdown(task: Task): void;
}

const ACTIVE_STATES = new Set(['updating', 'rollback_started']);

export function updateStep(ctx: UpdateContext, service: Service, tasks: Task[]): void {
  const status = service.UpdateStatus;
  if (!status || !ACTIVE_STATES.has(status.State)) return;
  const rollback = status.State === 'rollback_started';
  const cfg = updateConfigOf(service.Spec, rollback);
  const hash = specHash(service.Spec.TaskTemplate ?? {});
  const startedAt = Date.parse(status.StartedAt ?? '') || 0;
  const groups = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.DesiredState !== 'running') continue;
    const key = t.Slot > 0 ? `s${t.Slot}` : `n${t.NodeID}`;
    const list = groups.get(key) ?? [];
    list.push(t);
    groups.set(key, list);
  }
  const ofThisUpdate = tasks.filter((t) => t.SpecHash === hash && Date.parse(t.CreatedAt) >= startedAt);

  const failures = ofThisUpdate.filter((t) => TERMINAL_STATES.has(t.Status.State) && t.Status.State !== 'shutdown');
  const slots = Math.max(1, groups.size);
  if (failures.length > 0 && failures.length / slots > cfg.MaxFailureRatio && cfg.FailureAction !== 'continue') {
    const culprit = failures[0].ID;
    if (cfg.FailureAction === 'rollback' && !rollback && service.PreviousSpec) {
      setService(ctx, service, {
        Spec: service.PreviousSpec, PreviousSpec: service.Spec,
        UpdateStatus: { State: 'rollback_started', StartedAt: isoNow(ctx.now), Message: `update rolled back due to failure or early termination of task ${culprit}` },
      });
    } else {
      setService(ctx, service, {
        UpdateStatus: {
          State: rollback ? 'rollback_paused' : 'paused', StartedAt: status.StartedAt,
          Message: `${rollback ? 'rollback' : 'update'} paused due to failure or early termination of task ${culprit}`,
        },
      });
    }
    return;
  }

  const inFlight = ofThisUpdate.filter((t) => t.DesiredState === 'running' && !TERMINAL_STATES.has(t.Status.State) && t.Status.State !== 'running');
  const outdated = [...groups.entries()].filter(([, list]) => list.every((t) => t.SpecHash !== hash)).sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
  const runningSince = ofThisUpdate.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running').map((t) => Date.parse(t.Status.Timestamp));
  if (outdated.length === 0) {
    const settled = inFlight.length === 0 && runningSince.every((since) => ctx.now - since >= cfg.Monitor / 1e6);
    if (settled) {
      setService(ctx, service, {
        UpdateStatus: {
          State: rollback ? 'rollback_completed' : 'completed', StartedAt: status.StartedAt, CompletedAt: isoNow(ctx.now),
          Message: rollback ? 'rollback completed' : 'update completed',
        },
      });
    }
    return;
  }
  const parallelism = cfg.Parallelism > 0 ? cfg.Parallelism : Infinity;
  const free = parallelism - inFlight.length;
  if (free <= 0) return;
  const lastUp = runningSince.length > 0 ? Math.max(...runningSince) : 0;
  if (cfg.Delay > 0 && lastUp > 0 && ctx.now < lastUp + cfg.Delay / 1e6) return;
  for (const [, list] of outdated.slice(0, free)) {
    const { Slot, NodeID } = list[0];
    if (cfg.Order === 'stop-first') for (const old of list) ctx.shutdown(old);
    ctx.newTask(Slot, Slot > 0 ? '' : NodeID);
  }
}

function setService(ctx: UpdateContext, service: Service, fields: Partial<Service>): void {
  Object.assign(service, fields, { Version: { Index: ctx.store.nextVersion() }, UpdatedAt: isoNow(ctx.now) });
  ctx.store.putService(service);
}
