/**
 * Clean stop on SIGTERM/SIGINT for every command. In a container `swarm` is PID 1, and the
 * kernel delivers no default-action signal to PID 1: without a handler `docker stop` would wait
 * its 10 s and SIGKILL. Commands that hold resources register a cleanup (bounded in time);
 * the process then exits 0.
 */
import { log } from '../log';

type Cleanup = () => Promise<void>;
const cleanups: Cleanup[] = [];
// Under docker stop's default 10 s grace: a replicated primary resigns, keeps listening 1 s
// for forwarded requests, then lets requests in flight finish (manage's cleanup, ~7 s at most).
const CLEANUP_BUDGET_MS = 8000;
let installed = false;

/** Runs `cleanup` (at most ~8 s) before the process exits on SIGTERM or SIGINT. */
export function onShutdown(cleanup: Cleanup): void {
  cleanups.push(cleanup);
}

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const shutdown = (signal: NodeJS.Signals): void => {
    log.info(`Received ${signal}, shutting down`);
    const done = Promise.allSettled(cleanups.map((cleanup) => cleanup()));
    const timeout = new Promise((resolve) => setTimeout(resolve, CLEANUP_BUDGET_MS).unref());
    void Promise.race([done, timeout]).then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
