import type { Strategy } from '../lib/scheduler/strategy';
import { BinpackStrategy } from './binpack';
import { RandomStrategy } from './random';
import { SpreadStrategy } from './spread';

const FACTORIES: Record<string, () => Strategy> = {
  spread: () => new SpreadStrategy(),
  binpack: () => new BinpackStrategy(),
  random: () => new RandomStrategy(),
};

/** Aliases accepted by `--strategy` (classic accepted "binpacking"). */
const ALIASES: Record<string, string> = { binpacking: 'binpack' };

export const DEFAULT_STRATEGY = 'spread';

export function knownStrategies(): string[] {
  return Object.keys(FACTORIES);
}

export function createStrategy(name: string): Strategy {
  const factory = FACTORIES[ALIASES[name] ?? name];
  if (!factory) throw new Error('strategy not supported');
  return factory();
}
