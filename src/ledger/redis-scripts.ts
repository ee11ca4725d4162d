/**
 * Lua scripts of the Redis ledger. Every change of slots or queue happens inside one script, so processes on
 * different machines never race. Keys are built from a prefix (ARGV[1]); a single Redis (not a cluster) is assumed.
 *
 *   <p>l:<account>:<model>   sorted set: lease id -> expiry (ms); expired members are free slots
 *   <p>h:<account>:<model>   hash: lease id -> "host pid" (who holds it, for `status`)
 *   <p>q:<model>             list: waiter ids, first come first served
 *   <p>w:<id>                string (expires at the waiter's deadline): JSON {ch, holder, cands, caps}
 *   <p>g:<id>                string (short-lived): "<account> <others>" for a grant made while the waiter was away
 *   <p>pairs                 set: "<account>\0<model>" ever used (for `status`)
 *   <p>limits                hash: "<account>\0<model>" -> learned limit state (JSON); grants never exceed it
 * Channels: <p>grant:<owner> ("<id> <account> <others> <model>"), <p>limits (JSON).
 */

/** Shared Lua: purge expired leases of a pair, try to grant a waiter, dispatch a model's queue. */
const COMMON = `
local p = ARGV[1]
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local function lkey(acct, model) return p .. 'l:' .. acct .. ':' .. model end
local function hkey(acct, model) return p .. 'h:' .. acct .. ':' .. model end
local function live(acct, model)
  local z = lkey(acct, model)
  local dead = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #dead > 0 then
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
    redis.call('HDEL', hkey(acct, model), unpack(dead))
  end
  return redis.call('ZCARD', z)
end
-- The latest limit any process published for the pair: a waiter's cap was computed when its process last sent it,
-- and another process may have learned a lower limit since (as the machine coordinator's table does).
local function published(acct, model)
  local raw = redis.call('HGET', p .. 'limits', acct .. '\0' .. model)
  if not raw then return nil end
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' and type(v.state) == 'table' then return tonumber(v.state.limit) end
  return nil
end
local function try_grant(id, model, holder, cands, caps)
  for i, acct in ipairs(cands) do
    local n = live(acct, model)
    local cap = tonumber(caps[acct] or 0)
    local limit = published(acct, model)
    if limit and limit < cap then cap = limit end
    if n < cap then
      redis.call('ZADD', lkey(acct, model), now + ttl, id)
      redis.call('HSET', hkey(acct, model), id, holder)
      redis.call('SADD', p .. 'pairs', acct .. '\\0' .. model)
      return {acct, n}
    end
  end
  return nil
end
-- Grants a model's waiters what is free; returns {channel, message, ...} of the grants made (each also published), so
-- the process that ran the script resolves its own at once instead of after the pub/sub round trip.
local function dispatch(model)
  local made = {}
  local q = p .. 'q:' .. model
  local ids = redis.call('LRANGE', q, 0, 199)
  for _, id in ipairs(ids) do
    local raw = redis.call('GET', p .. 'w:' .. id)
    if not raw then
      redis.call('LREM', q, 1, id)
    else
      local w = cjson.decode(raw)
      local got = try_grant(id, model, w.holder, w.cands, w.caps)
      if got then
        redis.call('LREM', q, 1, id)
        redis.call('DEL', p .. 'w:' .. id)
        redis.call('SET', p .. 'g:' .. id, got[1] .. ' ' .. got[2], 'PX', ttl)
        local message = id .. ' ' .. got[1] .. ' ' .. got[2] .. ' ' .. model
        redis.call('PUBLISH', w.ch, message)
        made[#made + 1] = w.ch
        made[#made + 1] = message
      end
    end
  end
  return made
end
local function queue_empty(model)
  local q = p .. 'q:' .. model
  while true do
    local head = redis.call('LINDEX', q, 0)
    if not head then return true end
    if redis.call('EXISTS', p .. 'w:' .. head) == 1 then return false end
    redis.call('LPOP', q)
  end
end
`;

/** ARGV: p, now, ttl, id, model, waiterJSON, deadline. Returns {account, others} or false (queued). */
export const ACQUIRE = `${COMMON}
local id, model, raw, deadline = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local w = cjson.decode(raw)
if queue_empty(model) then
  local got = try_grant(id, model, w.holder, w.cands, w.caps)
  if got then return got end
end
redis.call('SET', p .. 'w:' .. id, raw, 'PX', math.max(1, deadline - now))
redis.call('RPUSH', p .. 'q:' .. model, id)
dispatch(model)
local g = redis.call('GET', p .. 'g:' .. id)
if g then
  redis.call('DEL', p .. 'g:' .. id)
  local sp = string.find(g, ' ')
  return {string.sub(g, 1, sp - 1), tonumber(string.sub(g, sp + 1))}
end
return false
`;

/** ARGV: p, now, ttl, id, account, model. Returns the grants it made (see dispatch). */
export const RELEASE = `${COMMON}
local id, acct, model = ARGV[4], ARGV[5], ARGV[6]
redis.call('ZREM', lkey(acct, model), id)
redis.call('HDEL', hkey(acct, model), id)
return dispatch(model)
`;

/** ARGV: p, now, ttl, id, model, waiterJSON (empty: cancel). Returns the grants it made (see dispatch). */
export const UPDATE = `${COMMON}
local id, model, raw = ARGV[4], ARGV[5], ARGV[6]
local key = p .. 'w:' .. id
if raw == '' then
  redis.call('DEL', key)
  redis.call('LREM', p .. 'q:' .. model, 1, id)
  return {}
end
if redis.call('EXISTS', key) == 0 then return {} end
redis.call('SET', key, raw, 'KEEPTTL')
return dispatch(model)
`;

/** ARGV: p, now, ttl, model. Frees expired leases and grants what that frees (returned: see dispatch). */
export const DISPATCH = `${COMMON}
return dispatch(ARGV[4])
`;

/** ARGV: p, now, ttl, account, model, id... : extends the given leases (still held) by ttl. */
export const REFRESH = `${COMMON}
local acct, model = ARGV[4], ARGV[5]
for i = 6, #ARGV do redis.call('ZADD', lkey(acct, model), 'XX', now + ttl, ARGV[i]) end
return 1
`;

/** ARGV: p, now, ttl, id: a grant made while its waiter was not listening, taken once. */
export const TAKE_GRANT = `${COMMON}
local g = redis.call('GET', p .. 'g:' .. ARGV[4])
if not g then return false end
redis.call('DEL', p .. 'g:' .. ARGV[4])
local sp = string.find(g, ' ')
return {string.sub(g, 1, sp - 1), tonumber(string.sub(g, sp + 1))}
`;

/**
 * ARGV: p, now, ttl, field, limitJSON. Stores and publishes a learned limit state unless it is a stale raise (more
 * than one step above the stored one, or not from a later epoch) or a try withdrawn by a process that joined during
 * it (see acceptsLimit in ledger.ts). Returns 1 when stored.
 */
export const PUBLISH_LIMIT = `${COMMON}
local field, raw = ARGV[4], ARGV[5]
local incoming = cjson.decode(raw)
local known = redis.call('HGET', p .. 'limits', field)
if known then
  local ok, k = pcall(cjson.decode, known)
  if ok and type(k) == 'table' and type(k.state) == 'table' then
    local have, want = tonumber(k.state.limit), tonumber(incoming.state.limit)
    local knownEpoch, epoch = tonumber(k.state.epoch or 0), tonumber(incoming.state.epoch or 0)
    if want > have and (want > have + 1 or epoch <= knownEpoch) then return 0 end
    -- withdrawsTry: one below at the same epoch is a process that joined during a try, not the try's outcome.
    if epoch == knownEpoch and incoming.state.probeFrom == nil and want == have - 1 then return 0 end
  end
end
redis.call('HSET', p .. 'limits', field, raw)
redis.call('PUBLISH', p .. 'limits', raw)
return 1
`;
