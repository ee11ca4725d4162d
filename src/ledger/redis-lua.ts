/**
 * The Lua every Redis ledger script starts with (see redis-scripts.ts for the keys). Each operation costs
 * O(accounts of the model): counts are ZCARDs, the first waiter of an account is the head of its sorted set, expired
 * leases come from one sorted set of deadlines, and a dispatch stops as soon as no account has a grantable waiter.
 * Written with String.raw: `\n` and `\0` reach Lua as its own escapes (newline, NUL).
 */
export const COMMON = String.raw`
local p = ARGV[1]
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
-- Waiters looked at per account when the first cannot take it (a lower cap than the others': rare).
local DEPTH = 4
-- The channel of the process running the script: its own grants reach it in the answer, not over pub/sub.
local caller = nil
-- The pair key, as pairKey() writes it in TypeScript (src/limits/pair-key.ts).
local function pair(acct, model) return acct .. '\0' .. model end
local function lkey(acct, model) return p .. 'l:' .. acct .. ':' .. model end
local function qkey(acct, model) return p .. 'qa:' .. acct .. ':' .. model end
local function wkey(id) return p .. 'w:' .. id end
-- A process's caps per (account, model), shared by all its waiters: "<owner>:<seq>:<n>" -> <p>grant:<owner>:caps.
local function capkey(id) return p .. 'grant:' .. (string.match(id, '^([^:]*):') or '') .. ':caps' end
local caps_seen = {}
local function cap_of(id, acct, model)
  local key, field = capkey(id), pair(acct, model)
  local memo = key .. '\n' .. field
  local v = caps_seen[memo]
  if v == nil then
    v = tonumber(redis.call('HGET', key, field)) or false
    caps_seen[memo] = v
  end
  return v or nil
end
local function split(s)
  local out = {}
  for part in string.gmatch(s, '[^\n]+') do out[#out + 1] = part end
  return out
end
-- The latest limit any process published for the pair: a waiter's cap was computed when its process last sent it,
-- and another process may have learned a lower limit since (as the machine coordinator's table does).
local limits = {}
local function limit_of(acct, model)
  local field = pair(acct, model)
  local v = limits[field]
  if v == nil then
    v = tonumber(redis.call('HGET', p .. 'lim', field)) or false
    limits[field] = v
  end
  return v or nil
end
-- In flight on the pair, and whether one more fits under cap and the published limit.
local function room(acct, model, cap)
  local n = redis.call('ZCARD', lkey(acct, model))
  local lim = limit_of(acct, model)
  if lim and lim < cap then cap = lim end
  return n, n < cap
end
-- A lease's id names its holder (it begins with the owner: "<host>-<pid>-<random>"), for status.
local function lease(acct, model, id)
  redis.call('ZADD', lkey(acct, model), now + ttl, id)
  redis.call('ZADD', p .. 'exp', now + ttl, acct .. '\n' .. model .. '\n' .. id)
end
local function unlease(acct, model, id)
  redis.call('ZREM', lkey(acct, model), id)
  redis.call('ZREM', p .. 'exp', acct .. '\n' .. model .. '\n' .. id)
end
local function message(id, acct, n, model)
  return id .. ' ' .. acct .. ' ' .. n .. ' ' .. (now + ttl) .. ' ' .. model
end
-- Grants waiter id its first candidate with room; false when none has (then it stays queued).
local function grant(id, model, made)
  local w = wkey(id)
  local f = redis.call('HMGET', w, 'ch', 'cands')
  if not f[2] then return false end
  local cands = split(f[2])
  for _, a in ipairs(cands) do
    local n, ok = room(a, model, cap_of(id, a, model) or 0)
    if ok then
      for _, b in ipairs(cands) do redis.call('ZREM', qkey(b, model), id) end
      redis.call('DEL', w)
      lease(a, model, id)
      local text = message(id, a, n, model)
      if f[1] ~= caller then
        redis.call('PUBLISH', f[1], text)
        -- Kept until the lease is released: picked up by the owner's tick if the message was lost.
        redis.call('HSET', f[1] .. ':g', id, text)
      end
      made[#made + 1] = f[1]
      made[#made + 1] = text
      return true
    end
  end
  return false
end
-- Grants the model's waiters what is free, earliest arrival first. Per grant: for each account with room under its
-- published limit, the first waiter whose cap admits one more; the earliest of those is granted. Nothing grantable
-- anywhere: O(accounts), whatever the queue's length.
local function dispatch(model, made)
  local accts = redis.call('SMEMBERS', p .. 'acc:' .. model)
  while true do
    local best, bestAt
    for _, a in ipairs(accts) do
      local n = redis.call('ZCARD', lkey(a, model))
      local lim = limit_of(a, model)
      if lim == nil or n < lim then
        local q = qkey(a, model)
        local heads = redis.call('ZRANGE', q, 0, DEPTH - 1, 'WITHSCORES')
        for i = 1, #heads, 2 do
          local id, at = heads[i], tonumber(heads[i + 1])
          if best and (at > bestAt or (at == bestAt and id > best)) then break end
          local cap = cap_of(id, a, model)
          if not cap then
            redis.call('ZREM', q, id) -- its process is gone (its caps expired with its ticks)
          elseif n < cap then
            if redis.call('EXISTS', wkey(id)) == 1 then
              best, bestAt = id, at
              break
            end
            redis.call('ZREM', q, id) -- expired at its deadline
          end
        end
      end
    end
    if not best or not grant(best, model, made) then return end
  end
end
-- Leases past their deadline (holders that stopped refreshing), a bounded batch from the sorted set of deadlines;
-- the models they free are dispatched.
local function settle(made)
  local dead = redis.call('ZRANGEBYSCORE', p .. 'exp', '-inf', now, 'LIMIT', 0, 64)
  if #dead == 0 then return end
  local freed = {}
  for _, m in ipairs(dead) do
    local a, mo, id = string.match(m, '^([^\n]*)\n([^\n]*)\n(.*)$')
    if a then
      redis.call('ZREM', lkey(a, mo), id)
      freed[mo] = true
    end
  end
  redis.call('ZREM', p .. 'exp', unpack(dead))
  for mo in pairs(freed) do dispatch(mo, made) end
end
-- Records a process's cap for a pair, and the pair itself: in the accounts a dispatch of the model looks at, and in
-- the pairs status lists. Sent when the cap changes (and first), not with every acquire.
local function set_cap(ch, acct, model, cap)
  redis.call('HSET', ch .. ':caps', pair(acct, model), cap)
  redis.call('SADD', p .. 'acc:' .. model, acct)
  redis.call('SADD', p .. 'pairs', pair(acct, model))
end
-- Stores a waiter's candidates and queues it on each, ordered by first arrival (score), then id.
local function enqueue(id, model, at, raw_cands, ch)
  if ch then
    redis.call('HSET', wkey(id), 'cands', raw_cands, 'at', at, 'ch', ch)
  else
    redis.call('HSET', wkey(id), 'cands', raw_cands, 'at', at)
  end
  for _, a in ipairs(split(raw_cands)) do
    redis.call('ZADD', qkey(a, model), at, id)
  end
end
`;
