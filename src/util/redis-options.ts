/**
 * ioredis options shared by every Redis connection of the plugin: connect on demand, fail fast while Redis is away
 * (no offline queue, no per-command retries: the caller falls back), reconnect by itself with a short backoff.
 */
export function redisOptions(connectTimeoutMs = 1_000) {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times: number) => Math.min(100 * times, 2_000),
  };
}
