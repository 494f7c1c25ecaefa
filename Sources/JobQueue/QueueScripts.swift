import RedisClient

/// Every multi-key state change of the queue, each one Lua script (atomic on the server).
///
/// Conventions shared by all scripts: `ARGV[1]` is the key prefix (`{namespace}:`), `ARGV[2]`
/// the current time in ms since the epoch, or 0 to use the server's clock (`TIME`), so one clock
/// decides every lease and schedule in a cluster unless a test injects its own. Per-job keys are
/// built from the prefix exactly as `QueueKeys` builds them.
///
/// Data layout (see `JobRecord`): a job travels as an *item*
/// `attempts\nmax\nqueue\ngroup\nid\ncreated\nkind\ntimeout\npayload` (the fields scripts read
/// come first; `attempts` counts attempts already made). A pending job is an item in its queue's
/// list. A reservation moves up to N items into one *batch* list under a new token from a single
/// counter; a job's fencing identity is (token, slot), a bitmap records which slots are
/// finished, and the batch holds one lease in its worker's active zset. The happy path
/// (enqueue, reserve, ack) writes no per-job hash; a job hash exists only for scheduled,
/// retry-waiting, dead and canceled jobs, and a marker key `id:<id>` makes enqueue idempotent.
enum QueueScripts {
    /// The first lines of every script: the key prefix and the clock.
    static let header = """
        local P = ARGV[1]
        local NOW = tonumber(ARGV[2])
        if not NOW or NOW <= 0 then
          local t = redis.call('TIME')
          NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end

        """

    /// Lua helpers a script can ask for. Each `local function` costs a closure allocation on
    /// every call, so a script includes only the helpers it uses.
    enum Helper: Int, CaseIterable {
        case split, bump, signal, pushPending, stat, trim, createJob, groupDone, groupFailed, retire, settle, slotsOpen,
            forward, guardHolds

        var needs: [Helper] {
            switch self {
            case .split, .bump, .signal, .stat, .trim, .settle, .slotsOpen: return []
            case .pushPending: return [.signal]
            case .createJob: return [.pushPending, .stat]
            case .groupDone, .groupFailed: return [.createJob]
            case .retire: return [.stat, .groupFailed, .split]
            case .forward: return [.split, .pushPending]
            case .guardHolds: return [.slotsOpen]
            }
        }

        var source: String {
            switch self {
            case .split:
                return """
                    -- The first n newline-separated fields of s, and the position after them.
                    local function split(s, n)
                      local out, pos = {}, 1
                      for i = 1, n do
                        local e = string.find(s, '\\n', pos, true)
                        if not e then return nil end
                        out[i] = string.sub(s, pos, e - 1)
                        pos = e + 1
                      end
                      return out, pos
                    end

                    """
            case .bump:
                return """
                    -- The item with its attempt count raised by d (0 leaves it, -a resets it).
                    local function bump(item, d)
                      local e = string.find(item, '\\n', 1, true)
                      return math.max(0, tonumber(string.sub(item, 1, e - 1)) + d) .. string.sub(item, e)
                    end

                    """
            case .signal:
                return """
                    -- Wakes one idle worker of queue q.
                    local function signal(q)
                      redis.call('LPUSH', \(L.signal("q")), '1')
                      redis.call('LTRIM', \(L.signal("q")), 0, 0)
                    end

                    """
            case .pushPending:
                return """
                    -- Appends an item to its queue (or, for reclaimed and handed-back work, prepends
                    -- it) and wakes an idle worker when the queue was empty.
                    local function push_pending(q, item, front)
                      local n
                      if front then n = redis.call('LPUSH', \(L.pending("q")), item)
                      else n = redis.call('RPUSH', \(L.pending("q")), item) end
                      if n == 1 then signal(q) end
                    end

                    """
            case .stat:
                return """
                    local function stat(name, n)
                      if n ~= 0 then redis.call('HINCRBY', \(L.stats), name, n) end
                    end

                    """
            case .trim:
                return """
                    -- Bounds a terminal zset to `keep` members and `age` ms (0 = no age bound); at most
                    -- 1000 members a call. With `forget`, dropped jobs also lose their hash and marker.
                    local function trim(zkey, keep, age, forget)
                      local ids = {}
                      local n = redis.call('ZCARD', zkey)
                      if n > keep then
                        ids = redis.call('ZRANGE', zkey, 0, math.min(n - keep, 1000) - 1)
                      end
                      if age > 0 and #ids < 1000 then
                        local old = redis.call('ZRANGEBYSCORE', zkey, '-inf', NOW - age, 'LIMIT', 0, 1000 - #ids)
                        for _, id in ipairs(old) do ids[#ids + 1] = id end
                      end
                      if #ids == 0 then return end
                      redis.call('ZREM', zkey, unpack(ids))
                      local keys = {}
                      for _, id in ipairs(ids) do
                        keys[#keys + 1] = \(L.result("id"))
                        if forget then
                          keys[#keys + 1] = \(L.job("id"))
                          keys[#keys + 1] = \(L.marker("id"))
                        end
                      end
                      redis.call('DEL', unpack(keys))
                    end

                    """
            case .createJob:
                return """
                    -- Creates a job from the two halves of its item (max..id, kind..payload) unless the
                    -- id is live or done within retention; registers its queue. Returns 1 or 0.
                    local function create_job(id, q, head, body)
                      if redis.call('ZSCORE', \(L.done), id) or not redis.call('SET', \(L.marker("id")), '', 'NX') then
                        return 0
                      end
                      push_pending(q, '0\\n' .. head .. NOW .. '\\n' .. body, false)
                      redis.call('SADD', \(L.queues), q)
                      stat('enqueued', 1)
                      return 1
                    end

                    """
            case .groupDone:
                return """
                    -- Members of group g succeeded: store their results (pairs id, result). Only new
                    -- members count, so counting is idempotent; when every member has succeeded while
                    -- the group is open, close it and create its completion job, exactly once.
                    local function group_done(g, pairs)
                      local gk = \(L.group("g"))
                      -- A group its owner deleted (a purge) takes no more results.
                      if redis.call('EXISTS', gk) == 0 then return end
                      local added = redis.call('HSET', \(L.groupResults("g")), unpack(pairs))
                      if added == 0 then return end
                      local done = redis.call('HINCRBY', gk, 'done', added)
                      local f = redis.call('HMGET', gk, 'total', 'failed', 'state', 'c_id', 'c_q', 'c_head', 'c_body')
                      if f[3] == 'open' and done >= tonumber(f[1]) and tonumber(f[2] or '0') <= 0 then
                        redis.call('HSET', gk, 'state', 'completed', 'ft', NOW)
                        if f[4] and f[4] ~= '' then create_job(f[4], f[5], f[6], f[7]) end
                      end
                    end

                    """
            case .groupFailed:
                return """
                    -- A member of group g died or was canceled: the open group fails and creates its
                    -- failure job.
                    local function group_failed(g)
                      if not g or g == '' then return end
                      local gk = \(L.group("g"))
                      if redis.call('EXISTS', gk) == 0 then return end
                      redis.call('HINCRBY', gk, 'failed', 1)
                      local f = redis.call('HMGET', gk, 'state', 'f_id', 'f_q', 'f_head', 'f_body')
                      if f[1] == 'open' then
                        redis.call('HSET', gk, 'state', 'failed', 'ft', NOW)
                        if f[2] and f[2] ~= '' then create_job(f[2], f[3], f[4], f[5]) end
                      end
                    end

                    """
            case .retire:
                return """
                    -- Moves a job to the dead or canceled set, keeping its item and last error.
                    local function retire(id, item, state, err)
                      redis.call('HSET', \(L.job("id")), 'r', item, 'st', state, 'err', err, 'ft', NOW)
                      redis.call('ZADD', P .. state, NOW, id)
                      stat(state, 1)
                      local f = split(item, 4)
                      if f then group_failed(f[4]) end
                    end

                    """
            case .settle:
                return """
                    -- Deletes a batch once every slot is finished, with its lease in active zset ak.
                    local function settle(ak, tok)
                      local bk = \(L.batch("tok"))
                      if redis.call('BITCOUNT', \(L.batchDone("tok"))) >= redis.call('LLEN', bk) then
                        redis.call('DEL', bk, \(L.batchDone("tok")), \(L.batchOwner("tok")))
                        redis.call('ZREM', ak, tok)
                      end
                    end

                    """
            case .slotsOpen:
                return """
                    -- Whether each of `slots` of batch tok is unfinished (a table of booleans).
                    local function slots_open(tok, slots)
                      local args = {}
                      for i, s in ipairs(slots) do
                        args[3 * i - 2] = 'GET'
                        args[3 * i - 1] = 'u1'
                        args[3 * i] = '#' .. s
                      end
                      local bits = redis.call('BITFIELD', \(L.batchDone("tok")), unpack(args))
                      local out = {}
                      for i = 1, #slots do out[i] = bits[i] == 0 end
                      return out
                    end

                    """
            case .forward:
                return """
                    -- Moves a scheduled or retry-waiting job (its hash jk holds its item) to its
                    -- queue. The hash goes when the job has no past attempt (ack deletes only the
                    -- hashes of jobs with attempts); otherwise it stays, pending, to show its error.
                    local function forward(jk, item)
                      if string.byte(item, 1) == 48 and string.byte(item, 2) == 10 then
                        redis.call('DEL', jk)
                      else
                        redis.call('HDEL', jk, 'r', 'ra')
                        redis.call('HSET', jk, 'st', 'pending')
                      end
                      push_pending(split(item, 3)[3], item, false)
                    end

                    """
            case .guardHolds:
                return """
                    -- Whether the write guard in ARGV[3..8] holds (see `QueueGuard`): [3] a hash that
                    -- must exist ('' = no such condition) with field [4] equal to [5]; [6] an active
                    -- zset ('' = none) that must still hold batch [7], with slot [8] unfinished.
                    local function guard_holds()
                      if ARGV[3] ~= '' then
                        if redis.call('EXISTS', ARGV[3]) == 0 or (redis.call('HGET', ARGV[3], ARGV[4]) or '') ~= ARGV[5] then
                          return false
                        end
                      end
                      if ARGV[6] ~= '' then
                        local tok, slot = ARGV[7], ARGV[8]
                        if not redis.call('ZSCORE', ARGV[6], tok) or tonumber(slot) >= redis.call('LLEN', \(L.batch("tok")))
                          or not slots_open(tok, { slot })[1] then
                          return false
                        end
                      end
                      return true
                    end

                    """
            }
        }
    }

    /// A script: the header, the helpers it uses (and theirs) in dependency order, its body.
    static func script(_ name: String, uses: [Helper] = [], _ body: String) -> RedisScript {
        var needed = Set<Helper>()
        func add(_ h: Helper) {
            guard needed.insert(h).inserted else { return }
            for d in h.needs { add(d) }
        }
        for h in uses { add(h) }
        let helpers = Helper.allCases.filter(needed.contains).map(\.source).joined()
        return RedisScript(name: name, source: header + helpers + body)
    }

    // enqueue: creates jobs (idempotent by id) and queues or schedules each. The done-index check
    // is one ZMSCORE, the markers one MSETNX when none exists (the usual case; otherwise one
    // SET NX each, to learn which ids exist), and items bound for one queue one RPUSH, so a
    // bulk call costs a few commands, not a few per job.
    // KEYS: [1] queues set
    // ARGV: [1] prefix, [2] now, [3..8] the write guard (see guard_holds), then 7 values per
    //       job: id, queue, group ('' = none), run-at ms (0 = not absolute), delay ms, item head
    //       (max..id), item body (kind..payload)
    // Returns: per job 1 (created) or 0 (already existed); error NOGROUP if a group is missing,
    //          GUARD (nothing enqueued) when the guard does not hold.
    static let enqueue = script(
        "enqueue", uses: [.guardHolds],
        """
        if not guard_holds() then return redis.error_reply('GUARD the condition of this enqueue no longer holds') end
        local NOWS = tostring(NOW)
        local ids = {}
        for i = 9, #ARGV, 7 do ids[#ids + 1] = ARGV[i] end
        local done = redis.call('ZMSCORE', \(L.done), unpack(ids))
        local out, queues, order, groups, seen, taken = {}, {}, {}, {}, {}, {}
        local created = 0
        -- Candidates: ids neither done within retention nor already a finished group member.
        local candidates, markers = {}, {}
        for k = 1, #ids do
          local i = 9 + 7 * (k - 1)
          local id, q, g = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          if g ~= '' and not groups[g] then
            if redis.call('EXISTS', \(L.group("g"))) == 0 then
              return redis.error_reply('NOGROUP job ' .. id .. ' names group ' .. g .. ', which does not exist')
            end
            groups[g] = true
          end
          if not seen[q] then
            seen[q] = true
            redis.call('SADD', KEYS[1], q)
          end
          out[k] = 0
          -- The same id twice in one call: the first wins.
          if not done[k] and not taken[id]
            and (g == '' or redis.call('HEXISTS', \(L.groupResults("g")), id) == 0) then
            taken[id] = true
            candidates[#candidates + 1] = k
            markers[#markers + 1] = \(L.marker("id"))
            markers[#markers + 1] = ''
          end
        end
        local fresh = {}
        if #candidates > 0 and redis.call('MSETNX', unpack(markers)) == 1 then
          for _, k in ipairs(candidates) do fresh[k] = true end
        else
          for c, k in ipairs(candidates) do
            if redis.call('SET', markers[2 * c - 1], '', 'NX') then fresh[k] = true end
          end
        end
        for k = 1, #ids do
          local i = 9 + 7 * (k - 1)
          local id, q = ARGV[i], ARGV[i + 1]
          if fresh[k] then
            local item = '0\\n' .. ARGV[i + 5] .. NOWS .. '\\n' .. ARGV[i + 6]
            local run_at = tonumber(ARGV[i + 3])
            if run_at <= 0 then run_at = NOW + tonumber(ARGV[i + 4]) end
            if run_at > NOW then
              redis.call('HSET', \(L.job("id")), 'r', item, 'st', 'scheduled', 'ra', run_at)
              redis.call('ZADD', \(L.scheduled), run_at, id)
            else
              local list = queues[q]
              if not list then
                list = {}
                queues[q] = list
                order[#order + 1] = q
              end
              list[#list + 1] = item
            end
            created = created + 1
            out[k] = 1
          end
        end
        for _, q in ipairs(order) do
          local items = queues[q]
          if redis.call('RPUSH', \(L.pending("q")), unpack(items)) == #items then
            redis.call('LPUSH', \(L.signal("q")), '1')
            redis.call('LTRIM', \(L.signal("q")), 0, 0)
          end
        end
        if created > 0 then redis.call('HINCRBY', \(L.stats), 'enqueued', created) end
        return out
        """)

    // group: creates a fan-in group; a no-op when it exists. A group of 0 members completes at once.
    // KEYS: [1] group hash
    // ARGV: [1] prefix, [2] now, [3..8] the write guard (see guard_holds), [9] total members,
    //       [10] completion job id ('' = none), [11] its queue, [12] item head, [13] item body,
    //       [14] failure job id ('' = none), [15..17] likewise
    // Returns: 1 created, 0 existed; error GUARD (nothing created) when the guard does not hold.
    static let createGroup = script(
        "group", uses: [.createJob, .guardHolds],
        """
        if not guard_holds() then return redis.error_reply('GUARD the condition of this group no longer holds') end
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'total', ARGV[9], 'done', 0, 'failed', 0, 'state', 'open', 'ct', NOW,
          'c_id', ARGV[10], 'c_q', ARGV[11], 'c_head', ARGV[12], 'c_body', ARGV[13],
          'f_id', ARGV[14], 'f_q', ARGV[15], 'f_head', ARGV[16], 'f_body', ARGV[17])
        if tonumber(ARGV[9]) == 0 then
          redis.call('HSET', KEYS[1], 'state', 'completed', 'ft', NOW)
          if ARGV[10] ~= '' then create_job(ARGV[10], ARGV[11], ARGV[12], ARGV[13]) end
        end
        return 1
        """)

    // reserve: moves up to N pending items, trying queues in the given order, into one new batch
    // for a live worker, with a new token and one lease. A token is never handed out twice, even
    // by a Redis restarted from an older snapshot (whose counter went back): it is at least the
    // clock in ms x 1000, so tokens after a restart are above every token handed out before it
    // (as long as fewer than 1000 batches a millisecond are reserved, which Redis cannot reach).
    // KEYS: [1] worker registry hash (must exist), [2] the worker's active zset, [3] paused set,
    //       [4] token counter
    // ARGV: [1] prefix, [2] now, [3] worker id, [4] lease ms, [5] max jobs (at most 1000),
    //       [6..] queue names
    // Returns: error WORKERGONE; {} when nothing is due; else { token, item of slot 0, slot 1, ... }.
    static let reserve = script(
        "reserve", uses: [.signal],
        """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return redis.error_reply('WORKERGONE worker ' .. ARGV[3] .. ' is not registered')
        end
        local want = tonumber(ARGV[5])
        local items = {}
        for i = 6, #ARGV do
          if want <= 0 then break end
          local q = ARGV[i]
          if redis.call('SISMEMBER', KEYS[3], q) == 0 then
            local popped = redis.call('LPOP', \(L.pending("q")), want)
            if popped then
              for _, it in ipairs(popped) do items[#items + 1] = it end
              want = want - #popped
              -- Work is left: wake the next idle worker too (chained wake-up).
              if want <= 0 and redis.call('LLEN', \(L.pending("q"))) > 0 then signal(q) end
            end
          end
        end
        if #items == 0 then return {} end
        local tok = redis.call('INCR', KEYS[4])
        -- As text: Lua would write a number this large as 1.7e+15 in a key name. (SET, not
        -- INCRBY: the worker's ACL user has INCR and SET only.)
        tok = string.format('%d', tok)
        local floor = string.format('%d', NOW * 1000)
        if #tok < #floor or (#tok == #floor and tok < floor) then
          tok = floor
          redis.call('SET', KEYS[4], tok)
        end
        redis.call('RPUSH', \(L.batch("tok")), unpack(items))
        redis.call('SET', \(L.batchOwner("tok")), ARGV[3])
        redis.call('ZADD', KEYS[2], NOW + tonumber(ARGV[4]), tok)
        table.insert(items, 1, tok)
        return items
        """)

    // ack: completes jobs a worker holds, fenced: only a slot of a batch this worker still holds,
    // not yet finished, records its result and counts as done (once).
    // KEYS: [1] the worker's active zset
    // ARGV: [1] prefix, [2] now, [3] done keep count, [4] done keep age ms, [5] result ttl ms,
    //       [6] number of batches B, then per batch: token, job count c, and per job 4 values:
    //       slot, id, group ('' = none), has a job hash ('1' after a past attempt, else '0');
    //       then pairs (job index, result bytes) for the jobs that have a result (job index
    //       counts jobs in argument order from 1).
    // Returns: per job, in argument order, 1 (recorded) or 0 (lease lost: reclaimed, possibly
    //          running elsewhere).
    // Hot path: it creates as few Lua strings as it can (each costs about a microsecond). The
    // id and group come from the worker, which parsed them from the items reserve handed it;
    // fencing rests on (token, slot): the batch must be held and the slot unfinished.
    static let ack = script(
        "ack", uses: [.groupDone, .stat, .trim],
        """
        local NOWS = tostring(NOW)
        local nb = tonumber(ARGV[6])
        local out, njobs = {}, 0
        local results = {}
        local i = 7
        for b = 1, nb do i = i + 2 + 4 * tonumber(ARGV[i + 1]) end
        for r = i, #ARGV, 2 do results[tonumber(ARGV[r])] = ARGV[r + 1] end
        local ok, dels, zdone, groups = 0, {}, {}, {}
        local cancel = redis.call('SCARD', \(L.cancelRequests)) > 0
        local progress = redis.call('EXISTS', \(L.progress)) == 1
        i = 7
        for b = 1, nb do
          local tok, c = ARGV[i], tonumber(ARGV[i + 1])
          local first = i + 2
          i = first + 4 * c
          local bk, dk = \(L.batch("tok")), \(L.batchDone("tok"))
          local size = redis.call('ZSCORE', KEYS[1], tok) and redis.call('LLEN', bk) or 0
          local bytes = { string.byte(redis.call('GET', dk) or '', 1, -1) }
          local marked = 0
          for a = first, first + 4 * c - 1, 4 do
            njobs = njobs + 1
            out[njobs] = 0
            local slot = tonumber(ARGV[a])
            local byte = math.floor(slot / 8) + 1
            local mask = 2 ^ (7 - slot % 8)
            for z = #bytes + 1, byte do bytes[z] = 0 end
            if slot < size and bit.band(bytes[byte], mask) == 0 then
              bytes[byte] = bit.bor(bytes[byte], mask)
              marked = marked + 1
              local id, g = ARGV[a + 1], ARGV[a + 2]
              dels[#dels + 1] = \(L.marker("id"))
              if ARGV[a + 3] == '1' then dels[#dels + 1] = \(L.job("id")) end
              zdone[#zdone + 1] = NOWS
              zdone[#zdone + 1] = id
              local result = results[njobs]
              if g ~= '' then
                local pairs = groups[g]
                if not pairs then
                  pairs = {}
                  groups[g] = pairs
                end
                pairs[#pairs + 1] = id
                pairs[#pairs + 1] = result or ''
              elseif result then
                redis.call('SET', \(L.result("id")), result, 'PX', ARGV[5])
              end
              out[njobs] = 1
              ok = ok + 1
            end
          end
          if marked > 0 then
            local bitmap = string.char(unpack(bytes))
            if redis.call('BITCOUNT', dk) + marked >= size then
              redis.call('DEL', bk, dk, \(L.batchOwner("tok")))
              redis.call('ZREM', KEYS[1], tok)
            else
              redis.call('SET', dk, bitmap)
            end
          end
        end
        if ok > 0 then
          redis.call('DEL', unpack(dels))
          redis.call('ZADD', \(L.done), unpack(zdone))
          if progress or cancel then
            local ids = {}
            for z = 2, #zdone, 2 do ids[#ids + 1] = zdone[z] end
            if progress then redis.call('HDEL', \(L.progress), unpack(ids)) end
            if cancel then redis.call('SREM', \(L.cancelRequests), unpack(ids)) end
          end
          for g, pairs in next, groups do group_done(g, pairs) end
          stat('processed', ok)
          trim(\(L.done), tonumber(ARGV[3]), tonumber(ARGV[4]), false)
        end
        stat('fenced', njobs - ok)
        return out
        """)

    // fail: records failed attempts of jobs a worker holds, fenced like ack: retry (after a
    // delay, or at once), dead (attempts used up, or asked for), or canceled (asked for, or a
    // cancellation was requested meanwhile).
    // KEYS: [1] the worker's active zset
    // ARGV: [1] prefix, [2] now, [3] dead keep count, [4] dead keep age ms,
    //       then 5 values per job: token, slot, mode ('retry', 'dead' or 'cancel'), delay ms, error
    // Returns: per job 'retry', 'dead', 'canceled' or 'fenced'.
    static let fail = script(
        "fail", uses: [.split, .bump, .pushPending, .stat, .retire, .trim, .settle, .slotsOpen],
        """
        local out = {}
        local failed = 0
        for i = 5, #ARGV, 5 do
          local tok, slot, mode = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          local item = redis.call('ZSCORE', KEYS[1], tok) and redis.call('LINDEX', \(L.batch("tok")), tonumber(slot))
          if not item or not slots_open(tok, { slot })[1] then
            out[#out + 1] = 'fenced'
            stat('fenced', 1)
          else
            redis.call('BITFIELD', \(L.batchDone("tok")), 'SET', 'u1', '#' .. slot, 1)
            local f = split(item, 5)
            local id = f[5]
            local err = ARGV[i + 4]
            local next = bump(item, 1)
            redis.call('HDEL', \(L.progress), id)
            if redis.call('SREM', \(L.cancelRequests), id) == 1 then mode = 'cancel' end
            if mode == 'cancel' then
              retire(id, next, 'canceled', err)
              out[#out + 1] = 'canceled'
            elseif mode == 'dead' or tonumber(f[1]) + 1 >= tonumber(f[2]) then
              failed = failed + 1
              retire(id, next, 'dead', err)
              out[#out + 1] = 'dead'
            else
              failed = failed + 1
              local delay = tonumber(ARGV[i + 3])
              if delay > 0 then
                redis.call('HSET', \(L.job("id")), 'r', next, 'st', 'scheduled', 'err', err, 'ra', NOW + delay)
                redis.call('ZADD', \(L.scheduled), NOW + delay, id)
              else
                redis.call('HSET', \(L.job("id")), 'st', 'pending', 'err', err)
                push_pending(f[3], next, false)
              end
              stat('retried', 1)
              out[#out + 1] = 'retry'
            end
            settle(KEYS[1], tok)
          end
        end
        stat('failed', failed)
        trim(\(L.dead), tonumber(ARGV[3]), tonumber(ARGV[4]), true)
        trim(\(L.canceled), tonumber(ARGV[3]), tonumber(ARGV[4]), true)
        return out
        """)

    // release: gives jobs a worker holds back to the front of their queues at once, without
    // counting the attempt (graceful shutdown). Fenced like ack.
    // KEYS: [1] the worker's active zset
    // ARGV: [1] prefix, [2] now, then 2 values per job: token, slot
    // Returns: number of jobs released.
    static let release = script(
        "release", uses: [.split, .pushPending, .settle, .slotsOpen],
        """
        local n = 0
        for i = 3, #ARGV, 2 do
          local tok, slot = ARGV[i], ARGV[i + 1]
          local item = redis.call('ZSCORE', KEYS[1], tok) and redis.call('LINDEX', \(L.batch("tok")), tonumber(slot))
          if item and slots_open(tok, { slot })[1] then
            redis.call('BITFIELD', \(L.batchDone("tok")), 'SET', 'u1', '#' .. slot, 1)
            push_pending(split(item, 3)[3], item, true)
            settle(KEYS[1], tok)
            n = n + 1
          end
        end
        return n
        """)

    // heartbeat: refreshes a worker's registry entry and its liveness TTL, extends the leases of
    // the batches it still holds, and reports which batches it lost, which of its running jobs
    // had their slot closed by someone else (a purge), and which should be canceled.
    // KEYS: [1] worker hash, [2] the worker's active zset, [3] workers zset
    // ARGV: [1] prefix, [2] now, [3] worker id, [4] ttl ms, [5] lease ms, [6] N info pairs,
    //       [7 .. 6+2N] info field/value pairs, [7+2N] M held batch tokens, then the M tokens,
    //       then 3 values per job it runs: id, token, slot (-1 = unknown)
    // Returns: { lost batch tokens, cancel-requested job ids, ids of jobs whose slot was closed }
    static let heartbeat = script(
        "heartbeat",
        """
        local npairs = tonumber(ARGV[6])
        local info = { 'hb', NOW }
        for i = 7, 6 + 2 * npairs do info[#info + 1] = ARGV[i] end
        redis.call('HSET', KEYS[1], unpack(info))
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('ZADD', KEYS[3], NOW, ARGV[3])
        local t0 = 8 + 2 * npairs
        local ntok = tonumber(ARGV[t0 - 1])
        local deadline = NOW + tonumber(ARGV[5])
        local lost, zargs, held = {}, {}, {}
        for i = t0, t0 + ntok - 1 do
          if redis.call('ZSCORE', KEYS[2], ARGV[i]) then
            zargs[#zargs + 1] = deadline
            zargs[#zargs + 1] = ARGV[i]
            held[ARGV[i]] = true
          else
            lost[#lost + 1] = ARGV[i]
          end
        end
        if #zargs > 0 then redis.call('ZADD', KEYS[2], 'XX', unpack(zargs)) end
        local j0 = t0 + ntok
        local ids, closed = {}, {}
        for i = j0, #ARGV - 2, 3 do
          ids[#ids + 1] = ARGV[i]
          local tok, slot = ARGV[i + 1], tonumber(ARGV[i + 2])
          if held[tok] and slot >= 0 and redis.call('GETBIT', \(L.batchDone("tok")), slot) == 1 then
            closed[#closed + 1] = ARGV[i]
          end
        end
        local cancel = {}
        if #ids > 0 and redis.call('SCARD', \(L.cancelRequests)) > 0 then
          local m = redis.call('SMISMEMBER', \(L.cancelRequests), unpack(ids))
          for k, id in ipairs(ids) do
            if m[k] == 1 then cancel[#cancel + 1] = id end
          end
        end
        return { lost, cancel, closed }
        """)

    // deregister: removes a stopping worker from the registry (after it released its jobs).
    // KEYS: [1] worker hash, [2] the worker's active zset, [3] workers zset
    // ARGV: [1] prefix, [2] now, [3] worker id
    // Returns: number of batches still held (left for the recoverer).
    static let deregister = script(
        "deregister",
        """
        redis.call('DEL', KEYS[1])
        local held = redis.call('ZCARD', KEYS[2])
        if held == 0 then redis.call('ZREM', KEYS[3], ARGV[3]) end
        return held
        """)

    // maintain: one housekeeping pass, run by whichever process takes the lock: forwards due
    // scheduled jobs; reclaims at once every unfinished job of a worker whose liveness key
    // expired, and of batches of live workers whose lease ran out (back to the front of the
    // queue, or dead when attempts are used up, or canceled when that was requested); drops
    // gone workers from the registry; trims terminal sets by age.
    // KEYS: [1] lock, [2] scheduled zset, [3] workers zset
    // ARGV: [1] prefix, [2] now, [3] owner id, [4] lock ms, [5] limit per step,
    //       [6] done keep count, [7] done age ms, [8] dead keep count, [9] dead age ms
    // Returns: {-1} when another process holds the lock, else
    //          {forwarded, reclaimed, killed, workers removed}
    static let maintain = script(
        "maintain", uses: [.split, .bump, .pushPending, .stat, .retire, .trim, .forward],
        """
        if not redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[4]) then return { -1 } end
        local limit = tonumber(ARGV[5])
        local forwarded, reclaimed, killed, removed = 0, 0, 0, 0
        local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', NOW, 'LIMIT', 0, limit)
        for _, id in ipairs(due) do
          redis.call('ZREM', KEYS[2], id)
          local jk = \(L.job("id"))
          local item = redis.call('HGET', jk, 'r')
          if item then
            forward(jk, item)
            forwarded = forwarded + 1
          end
        end
        for _, w in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
          local alive = redis.call('EXISTS', \(L.worker("w"))) == 1
          local ak = \(L.active("w"))
          local toks
          if alive then
            toks = redis.call('ZRANGEBYSCORE', ak, '-inf', NOW, 'LIMIT', 0, limit)
          else
            toks = redis.call('ZRANGE', ak, 0, limit - 1)
          end
          local reason
          if alive then reason = 'lease expired on worker ' .. w else reason = 'worker ' .. w .. ' stopped heartbeating' end
          for _, tok in ipairs(toks) do
            local bk, dk = \(L.batch("tok")), \(L.batchDone("tok"))
            local items = redis.call('LRANGE', bk, 0, -1)
            if #items > 0 then
              local args = {}
              for s = 0, #items - 1 do
                args[#args + 1] = 'GET'
                args[#args + 1] = 'u1'
                args[#args + 1] = '#' .. s
              end
              local bits = redis.call('BITFIELD', dk, unpack(args))
              for s = 1, #items do
                if bits[s] == 0 then
                  local item = items[s]
                  local f = split(item, 5)
                  local id = f[5]
                  local next = bump(item, 1)
                  if redis.call('SREM', \(L.cancelRequests), id) == 1 then
                    retire(id, next, 'canceled', 'canceled; ' .. reason)
                  elseif tonumber(f[1]) + 1 >= tonumber(f[2]) then
                    retire(id, next, 'dead', reason)
                    killed = killed + 1
                  else
                    redis.call('HSET', \(L.job("id")), 'st', 'pending', 'err', reason)
                    push_pending(f[3], next, true)
                    reclaimed = reclaimed + 1
                  end
                end
              end
            end
            redis.call('DEL', bk, dk, \(L.batchOwner("tok")))
            redis.call('ZREM', ak, tok)
          end
          if not alive and redis.call('EXISTS', ak) == 0 then
            redis.call('ZREM', KEYS[3], w)
            removed = removed + 1
          end
        end
        stat('reclaimed', reclaimed)
        trim(\(L.done), tonumber(ARGV[6]), tonumber(ARGV[7]), false)
        trim(\(L.dead), tonumber(ARGV[8]), tonumber(ARGV[9]), true)
        trim(\(L.canceled), tonumber(ARGV[8]), tonumber(ARGV[9]), true)
        return { forwarded, reclaimed, killed, removed }
        """)

    /// Shared by `cancel` and `find`: locates a live job. Returns state, item, and where:
    /// 'scheduled' (item from its hash), 'active' (worker, token, slot: found through the
    /// workers' batches), 'pending' (queue: found by scanning the queue lists, an
    /// administrative O(queue length) step).
    static let locate = """
        local function locate(id)
          if redis.call('ZSCORE', \(L.scheduled), id) then
            return 'scheduled', redis.call('HGET', \(L.job("id")), 'r')
          end
          for _, w in ipairs(redis.call('ZRANGE', \(L.workers), 0, -1)) do
            for _, tok in ipairs(redis.call('ZRANGE', \(L.active("w")), 0, -1)) do
              local items = redis.call('LRANGE', \(L.batch("tok")), 0, -1)
              for s, it in ipairs(items) do
                local f = split(it, 5)
                if f and f[5] == id and redis.call('GETBIT', \(L.batchDone("tok")), s - 1) == 0 then
                  return 'active', it, w, tok, s - 1
                end
              end
            end
          end
          for _, q in ipairs(redis.call('SMEMBERS', \(L.queues))) do
            local qk = \(L.pending("q"))
            local len = redis.call('LLEN', qk)
            for start = 0, len - 1, 1000 do
              for _, it in ipairs(redis.call('LRANGE', qk, start, start + 999)) do
                local f = split(it, 5)
                if f and f[5] == id then return 'pending', it, q end
              end
            end
          end
          return nil
        end

        """

    // cancel: cancels a pending or scheduled job at once, or flags a running one so its worker
    // stops it at the next heartbeat or checkpoint.
    // KEYS: none (keys built from the prefix)
    // ARGV: [1] prefix, [2] now, [3] job id
    // Returns: 'canceled', 'requested' (running), 'canceled-already', 'dead', 'done' or 'missing'.
    static let cancel = script(
        "cancel", uses: [.split, .stat, .retire],
        locate + """
            local id = ARGV[3]
            if redis.call('ZSCORE', \(L.done), id) then return 'done' end
            if redis.call('ZSCORE', \(L.dead), id) then return 'dead' end
            if redis.call('ZSCORE', \(L.canceled), id) then return 'canceled-already' end
            if redis.call('EXISTS', \(L.marker("id"))) == 0 then return 'missing' end
            local state, item, where = locate(id)
            if state == 'active' then
              redis.call('SADD', \(L.cancelRequests), id)
              return 'requested'
            elseif state == 'scheduled' then
              redis.call('ZREM', \(L.scheduled), id)
            elseif state == 'pending' then
              redis.call('LREM', \(L.pending("where")), 1, item)
            else
              return 'missing'
            end
            retire(id, item, 'canceled', 'canceled before it ran')
            return 'canceled'
            """)

    // find: where a live job is and its item (for `jobs show`).
    // KEYS: none. ARGV: [1] prefix, [2] now, [3] job id
    // Returns: {} when not found, else { state, item, queue or worker, token, slot }.
    static let find = script(
        "find", uses: [.split],
        locate + """
            local state, item, where, tok, slot = locate(ARGV[3])
            if not state then return {} end
            return { state, item, where or '', tok or 0, slot or 0 }
            """)

    // requeue: moves dead jobs back to their queues with fresh attempts; a group that failed
    // only because of them reopens.
    // KEYS: [1] dead zset
    // ARGV: [1] prefix, [2] now, [3..] job ids
    // Returns: number requeued.
    static let requeue = script(
        "requeue", uses: [.split, .bump, .pushPending],
        """
        local n = 0
        for i = 3, #ARGV do
          local id = ARGV[i]
          local jk = \(L.job("id"))
          local item = redis.call('HGET', jk, 'r')
          if item and redis.call('ZREM', KEYS[1], id) == 1 then
            local f = split(item, 4)
            -- Fresh attempts: the job leaves no hash behind (ack deletes only hashes of jobs
            -- with past attempts).
            redis.call('DEL', jk)
            push_pending(f[3], bump(item, -tonumber(f[1])), false)
            if f[4] ~= '' then
              local gk = \(L.group("f[4]"))
              local left = redis.call('HINCRBY', gk, 'failed', -1)
              if left <= 0 and redis.call('HGET', gk, 'state') == 'failed' then
                redis.call('HSET', gk, 'state', 'open')
              end
            end
            n = n + 1
          end
        end
        return n
        """)

    // retry_now: moves scheduled (delayed or retry-waiting) jobs to their queues at once.
    // KEYS: [1] scheduled zset
    // ARGV: [1] prefix, [2] now, [3..] job ids
    // Returns: number moved.
    static let retryNow = script(
        "retry_now", uses: [.forward],
        """
        local n = 0
        for i = 3, #ARGV do
          local id = ARGV[i]
          local jk = \(L.job("id"))
          local item = redis.call('HGET', jk, 'r')
          if item and redis.call('ZREM', KEYS[1], id) == 1 then
            forward(jk, item)
            n = n + 1
          end
        end
        return n
        """)

    // purge: deletes terminal jobs (dead or canceled) with their index entries and markers.
    // KEYS: [1] the terminal zset (dead or canceled)
    // ARGV: [1] prefix, [2] now, [3] mode ('ids' or 'older'), [4] cutoff ms (mode 'older'),
    //       [5] limit, [6..] job ids (mode 'ids')
    // Returns: number deleted.
    static let purge = script(
        "purge",
        """
        local ids
        if ARGV[3] == 'older' then
          ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))
        else
          ids = {}
          for i = 6, #ARGV do ids[#ids + 1] = ARGV[i] end
        end
        local n = 0
        for _, id in ipairs(ids) do
          if redis.call('ZREM', KEYS[1], id) == 1 then
            redis.call('DEL', \(L.job("id")), \(L.result("id")), \(L.marker("id")))
            n = n + 1
          end
        end
        return n
        """)

    // progress: records a running job's progress, fenced like ack.
    // KEYS: [1] the worker's active zset
    // ARGV: [1] prefix, [2] now, [3] token, [4] slot, [5] job id, [6] progress text
    // Returns: 1 recorded, 0 lease lost.
    static let progress = script(
        "progress", uses: [.slotsOpen],
        """
        if not redis.call('ZSCORE', KEYS[1], ARGV[3])
          or tonumber(ARGV[4]) >= redis.call('LLEN', \(L.batch("ARGV[3]")))
          or not slots_open(ARGV[3], { ARGV[4] })[1] then
          return 0
        end
        redis.call('HSET', \(L.progress), ARGV[5], ARGV[6])
        return 1
        """)

    static let all: [RedisScript] = [
        enqueue, createGroup, reserve, ack, fail, release, heartbeat, deregister, maintain, cancel, find, requeue,
        retryNow, purge, progress, write, forgetLive, forgetFinished,
    ]
}
