/** Engines served at once by pull/import/load by default: 1,000 engines in 20 waves, few enough for one registry. */
export const DEFAULT_BROADCAST_PARALLELISM = 50;
