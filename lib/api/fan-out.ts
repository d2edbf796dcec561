/**
 * One API call on several engines at once (tag and rmi on every holder of an image, volume
 * create and rm on every engine). Per-engine failures are joined as "node: message"; the
 * status is theirs when they agree, else 500.
 */
import type { Engine } from '../engine/engine';
import { parseMessage, type JsonResponse } from '../engine/client';
import { ApiError } from '../errors';

export interface EngineResult {
  engine: Engine;
  response: JsonResponse;
}

export async function onEngines(engines: Engine[], call: (engine: Engine) => Promise<JsonResponse>, refresh: (engine: Engine) => Promise<void>): Promise<EngineResult[]> {
  const results = await Promise.all(engines.map(async (engine): Promise<EngineResult> => {
    try {
      const response = await engine.call(() => call(engine));
      await refresh(engine).catch(() => undefined);
      return { engine, response };
    } catch (err) {
      const body = Buffer.from(JSON.stringify({ message: (err as Error).message }));
      return { engine, response: { status: 500, headers: {}, body } };
    }
  }));
  const failed = results.filter((r) => r.response.status >= 400);
  if (failed.length > 0) {
    const status = failed.every((f) => f.response.status === failed[0].response.status) ? failed[0].response.status : 500;
    throw new ApiError(status, failed.map((f) => `${f.engine.name}: ${parseMessage(f.response.body.toString('utf8'))}`).join('; '));
  }
  return results;
}
