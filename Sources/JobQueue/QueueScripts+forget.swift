import RedisClient

/// The scripts that forget jobs by id prefix (an owner deleting everything it created) and the
/// guarded write.
extension QueueScripts {
    // write: applies writes, all or none, only while the write guard holds.
    // KEYS: none (the written keys are in ARGV; each must be under the prefix)
    // ARGV: [1] prefix, [2] now, [3..8] the write guard (see guard_holds), then per write: n,
    //       then n values: command (SET, HSET, HSETNX, HINCRBY, HDEL, RPUSH, DEL, PEXPIRE), key,
    //       its arguments
    // Returns: each write's reply, in order; error GUARD (nothing written) when the guard does
    //          not hold.
    static let write = script(
        "write", uses: [.guardHolds],
        """
        local allowed = { SET = true, HSET = true, HSETNX = true, HINCRBY = true, HDEL = true, RPUSH = true,
          DEL = true, PEXPIRE = true }
        local calls, i = {}, 9
        while i <= #ARGV do
          local n = tonumber(ARGV[i])
          if not n or n < 2 or not allowed[ARGV[i + 1]] or string.sub(ARGV[i + 2], 1, #P) ~= P then
            return redis.error_reply('ERR guarded write ' .. #calls + 1 .. ' is not an allowed command on a key of the namespace')
          end
          calls[#calls + 1] = { i + 1, i + n }
          i = i + 1 + n
        end
        if not guard_holds() then return redis.error_reply('GUARD the condition of this write no longer holds') end
        local out = {}
        for _, c in ipairs(calls) do out[#out + 1] = redis.call(unpack(ARGV, c[1], c[2])) end
        return out
        """)

    /// Lua: drops every per-job trace of the ids in `ids` (markers, hashes, results, progress,
    /// cancel requests).
    static let dropTraces = """
        local function drop_traces(ids)
          for s = 1, #ids, 500 do
            local keys, fields = {}, {}
            for k = s, math.min(#ids, s + 499) do
              local id = ids[k]
              keys[#keys + 1] = \(L.marker("id"))
              keys[#keys + 1] = \(L.job("id"))
              keys[#keys + 1] = \(L.result("id"))
              fields[#fields + 1] = id
            end
            redis.call('DEL', unpack(keys))
            redis.call('HDEL', \(L.progress), unpack(fields))
            redis.call('SREM', \(L.cancelRequests), unpack(fields))
          end
        end

        """

    // forget_live: forgets every live job whose id starts with ARGV[3], in one step so none can
    // move out of sight meanwhile: pending items leave their queues, scheduled and retry-waiting
    // jobs their zset, and the batch slot of each running one is closed, so its holder's ack,
    // fail, progress and guarded writes are refused from now on (its heartbeat tells it to
    // stop). Administrative: it reads every queue and every worker's batches.
    // KEYS: none (queues, scheduled and workers are built from the prefix)
    // ARGV: [1] prefix, [2] now, [3] id prefix
    // Returns: { pending removed, scheduled removed, running closed }
    static let forgetLive = script(
        "forget_live", uses: [.split, .settle],
        dropTraces + """
            local pre = ARGV[3]
            local function ours(item)
              local f = split(item, 5)
              return f and string.sub(f[5], 1, #pre) == pre and f[5]
            end
            local ids = {}
            local pending, scheduled, running = 0, 0, 0
            for _, q in ipairs(redis.call('SMEMBERS', \(L.queues))) do
              local qk = \(L.pending("q"))
              local items = redis.call('LRANGE', qk, 0, -1)
              local keep = {}
              for _, it in ipairs(items) do
                local id = ours(it)
                if id then ids[#ids + 1] = id else keep[#keep + 1] = it end
              end
              if #keep < #items then
                pending = pending + #items - #keep
                redis.call('DEL', qk)
                for s = 1, #keep, 1000 do redis.call('RPUSH', qk, unpack(keep, s, math.min(#keep, s + 999))) end
              end
            end
            for _, id in ipairs(redis.call('ZRANGE', \(L.scheduled), 0, -1)) do
              if string.sub(id, 1, #pre) == pre then
                redis.call('ZREM', \(L.scheduled), id)
                ids[#ids + 1] = id
                scheduled = scheduled + 1
              end
            end
            for _, w in ipairs(redis.call('ZRANGE', \(L.workers), 0, -1)) do
              local ak = \(L.active("w"))
              for _, tok in ipairs(redis.call('ZRANGE', ak, 0, -1)) do
                local dk = \(L.batchDone("tok"))
                for s, it in ipairs(redis.call('LRANGE', \(L.batch("tok")), 0, -1)) do
                  local id = ours(it)
                  if id and redis.call('GETBIT', dk, s - 1) == 0 then
                    redis.call('BITFIELD', dk, 'SET', 'u1', '#' .. (s - 1), 1)
                    ids[#ids + 1] = id
                    running = running + 1
                  end
                end
                settle(ak, tok)
              end
            end
            drop_traces(ids)
            return { pending, scheduled, running }
            """)

    // forget_finished: forgets every finished job (done, dead or canceled) whose id starts with
    // ARGV[3], and any trace of it. Administrative: it reads the three terminal sets whole
    // (bounded by retention), in one step rather than pages that trimming would shift.
    // KEYS: none (the terminal zsets are built from the prefix)
    // ARGV: [1] prefix, [2] now, [3] id prefix
    // Returns: number of ids forgotten.
    static let forgetFinished = script(
        "forget_finished",
        dropTraces + """
            local pre = ARGV[3]
            local ids = {}
            for _, set in ipairs({ 'done', 'dead', 'canceled' }) do
              local zk = P .. set
              local mine = {}
              for _, id in ipairs(redis.call('ZRANGE', zk, 0, -1)) do
                if string.sub(id, 1, #pre) == pre then mine[#mine + 1] = id end
              end
              for s = 1, #mine, 1000 do redis.call('ZREM', zk, unpack(mine, s, math.min(#mine, s + 999))) end
              for _, id in ipairs(mine) do ids[#ids + 1] = id end
            end
            drop_traces(ids)
            return #ids
            """)
}
