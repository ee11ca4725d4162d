/** A source of numbers in [0, 1), injected so backoff jitter is reproducible in tests. */
export type Random = () => number;

export const systemRandom: Random = () => Math.random();
