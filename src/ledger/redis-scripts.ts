import { COMMON } from "./redis-lua.js";

/**
 * Lua scripts of the Redis ledger. Every change of slots or queue happens inside one script, so processes on
 * different machines never race. Keys are built from a prefix (ARGV[1]); a single Redis (not a cluster) is assumed.
 *
 *   <p>l:<account>:<model>   sorted set: lease id -> deadline (ms); its size is the pair's count in flight
 *                            (ids begin with their owner, "<host>-<pid>-<random>:": who holds it, for `status`)
 *   <p>exp                   sorted set: "<account>\n<model>\n<lease id>" -> deadline, for every lease: expired ones
 *                            are found with ZRANGEBYSCORE -inf now LIMIT, without visiting every pair
 *   <p>qa:<account>:<model>  sorted set: waiter id -> first arrival (ms): the waiters that may take this account
 *   <p>acc:<model>           set: accounts that waiters of the model named (what dispatch looks at)
 *   <p>w:<id>                hash (expires at the waiter's deadline): ch, at, cands ("\n"-joined)
 *   <ch>:caps                hash: "<account>\0<model>" -> the owner's cap, shared by all its waiters (ids begin with
 *                            "<owner>:"); expires unless the owner's tick renews it
 *   <ch>:g                   hash: waiter id -> grant message, for grants its owner may have missed; gone at release
 *   <p>pairs                 set: "<account>\0<model>" ever used (for `status`)
 *   <p>limits                hash: "<account>\0<model>" -> learned limit state (JSON, for processes joining)
 *   <p>lim                   hash: "<account>\0<model>" -> that state's limit: grants never exceed it
 * Channels: <ch> = <p>grant:<owner> ("<id> <account> <others> <lease deadline> <model>"), <p>limits (JSON).
 * RELEASE, UPDATE, ACQUIRE and TICK answer with `[channel, message, ...]` of the grants they made.
 */

/**
 * ARGV: p, now, ttl, id, model, at (first arrival), deadline, ch, cands and caps ("\n"-joined, same order), and
 * "0" when the caller's caps for them are those Redis has already (else they are recorded).
 * Granted at once when no waiter of its candidates is queued and one has room; otherwise queued by `at` (a retry
 * with an earlier `at` goes before later arrivals), and the model dispatched only if one of its candidates has room.
 */
export const ACQUIRE = `${COMMON}
local id, model, at, deadline, ch = ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local cands, caps = split(ARGV[9]), split(ARGV[10])
caller = ch
local made = {}
if ARGV[11] ~= '0' then
  for i, a in ipairs(cands) do set_cap(ch, a, model, caps[i]) end
  redis.call('PEXPIRE', ch .. ':caps', ttl * 3)
end
settle(made)
local free, nobody = nil, true
for i, a in ipairs(cands) do
  local n, ok = room(a, model, tonumber(caps[i]))
  if ok and not free then free = {a, n} end
  if nobody and redis.call('ZCARD', qkey(a, model)) > 0 then nobody = false end
end
if free and nobody then
  lease(free[1], model, id)
  made[#made + 1] = ch
  made[#made + 1] = message(id, free[1], free[2], model)
  return made
end
enqueue(id, model, at, ARGV[9], ch)
redis.call('PEXPIRE', wkey(id), math.max(1, deadline - now))
if free then dispatch(model, made) end
return made
`;

/** ARGV: p, now, ttl, id, account, model, ch. Frees the lease and grants what that frees. */
export const RELEASE = `${COMMON}
local id, acct, model, ch = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
caller = ch
unlease(acct, model, id)
redis.call('HDEL', ch .. ':g', id)
local made = {}
settle(made)
dispatch(model, made)
return made
`;

/**
 * ARGV: p, now, ttl, ch, n, then n (account, model, cap) of the caller's caps that changed, then (id, model, cands)
 * of its waiters whose candidates changed (cands "\n"-joined; empty: cancelled). One script for a process's whole
 * poke: a cap is the process's, not each waiter's, so a new cap costs one field, whatever the queue's length.
 * A waiter keeps its first arrival. Then dispatches the models touched.
 */
export const UPDATE = `${COMMON}
local ch, nc = ARGV[4], tonumber(ARGV[5])
caller = ch
local models = {}
for i = 6, 5 + 3 * nc, 3 do
  set_cap(ch, ARGV[i], ARGV[i + 1], ARGV[i + 2])
  models[ARGV[i + 1]] = true
end
for i = 6 + 3 * nc, #ARGV - 2, 3 do
  local id, model, cands = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local w = wkey(id)
  local f = redis.call('HMGET', w, 'cands', 'at')
  if f[1] then
    local keep = {}
    if cands ~= '' then
      for _, a in ipairs(split(cands)) do keep[a] = true end
    end
    for _, a in ipairs(split(f[1])) do
      if not keep[a] then redis.call('ZREM', qkey(a, model), id) end
    end
    if cands == '' then
      redis.call('DEL', w)
    else
      enqueue(id, model, f[2], cands)
      models[model] = true
    end
  end
end
local made = {}
settle(made)
for model in pairs(models) do dispatch(model, made) end
return made
`;

/**
 * ARGV: p, now, ttl, ch, n, n models, then (account, model, id) of every lease the process holds.
 * Extends those leases; one no longer in Redis (given away while its holder was suspended past the TTL, or Redis
 * restarted empty) is recorded again, counted until its holder releases it: its request may still run at Z.AI.
 * Then frees expired leases and dispatches the models. Returns {grants made, ids recorded again, grants kept for ch}.
 */
export const TICK = `${COMMON}
local ch, nm = ARGV[4], tonumber(ARGV[5])
caller = ch
-- What the process keeps beside its channel lives as long as it ticks.
redis.call('PEXPIRE', ch .. ':caps', ttl * 3)
redis.call('PEXPIRE', ch .. ':g', ttl * 3)
local missing = {}
for i = 6 + nm, #ARGV - 2, 3 do
  local a, mo, id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if not redis.call('ZSCORE', lkey(a, mo), id) then missing[#missing + 1] = id end
  lease(a, mo, id)
end
local made = {}
settle(made)
for k = 1, nm do dispatch(ARGV[5 + k], made) end
return {made, missing, redis.call('HGETALL', ch .. ':g')}
`;

/**
 * ARGV: p, now, ttl, id, account, model: a grant that reached its process after its lease deadline (the process was
 * suspended). 1 and the lease extended if Redis still has it; 0 if it was given away (the waiter queues again).
 */
export const CLAIM = String.raw`${COMMON}
local id, acct, model = ARGV[4], ARGV[5], ARGV[6]
local score = redis.call('ZSCORE', lkey(acct, model), id)
if score and tonumber(score) > now then
  redis.call('ZADD', lkey(acct, model), 'XX', now + ttl, id)
  redis.call('ZADD', p .. 'exp', 'XX', now + ttl, acct .. '\n' .. model .. '\n' .. id)
  return 1
end
if score then unlease(acct, model, id) end
return 0
`;

/**
 * ARGV: p, now, ttl, field, limitJSON. Stores and publishes a learned limit state unless it is a stale raise (more
 * than one step above the stored one, or not from a later epoch) or a try withdrawn by a process that joined during
 * it (see acceptsLimit in ledger.ts). Returns 0 when not stored, else the grants it made
 * (a higher limit frees room).
 */
export const PUBLISH_LIMIT = String.raw`${COMMON}
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
redis.call('HSET', p .. 'lim', field, incoming.state.limit)
redis.call('PUBLISH', p .. 'limits', raw)
local made = {}
local sep = string.find(field, '\0', 1, true)
if sep then dispatch(string.sub(field, sep + 1), made) end
return made
`;

/** Every script, by the command name the client defines for it. */
export const SCRIPTS = {
  acquireSlot: ACQUIRE,
  releaseSlot: RELEASE,
  updateWaiters: UPDATE,
  tickLeases: TICK,
  claimGrant: CLAIM,
  publishLimit: PUBLISH_LIMIT,
} as const;
