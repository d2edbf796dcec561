/**
 * The integration suite's shared engines: 3 real dockerd engines (node-0..2, default labels,
 * busybox loaded), started once on first use and stopped after the whole run by the mocha root
 * hook below (wired in test/.mocharc.integration.json with "require").
 *
 * Tests that kill or restart an engine must NOT use these: start your own with startEngines()
 * and stop them in your own after() hook.
 */
import { EngineSet, startEngines } from '../../testbed/engines';

let shared: Promise<EngineSet> | undefined;

/** The suite-wide engines, started on the first call (lazily: unit-only runs start none). */
export function getEngines(): Promise<EngineSet> {
  shared ??= startEngines(3);
  return shared;
}

export const mochaHooks = {
  async afterAll(): Promise<void> {
    if (!shared) return;
    const engines = await shared.catch(() => undefined);
    shared = undefined;
    await engines?.stop();
  },
};
