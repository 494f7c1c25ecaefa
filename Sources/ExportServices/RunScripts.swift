import RedisClient

/// The run's multi-key state changes that are not plain guarded writes, each one Lua script.
enum RunScripts {
    // run-claim: creates a run in state `loading` with its generation and its submitter's lease,
    // unless a run of that id exists.
    // KEYS: [1] meta hash, [2] submitter lease, [3] runs index
    // ARGV: [1] run id, [2] generation, [3] now ms, [4] lease ms, [5] dataset directory
    // Returns: { 'created' }, or { 'exists', state, '1' when it may be replaced (failed, or
    //          still loading with its submitter's lease lapsed) else '0' }
    static let claim = RedisScript(
        name: "run-claim",
        source: """
            if redis.call('EXISTS', KEYS[1]) == 1 then
              local state = redis.call('HGET', KEYS[1], 'state') or ''
              local lapsed = state == 'loading' and redis.call('EXISTS', KEYS[2]) == 0
              return { 'exists', state, (state == 'failed' or lapsed) and '1' or '0' }
            end
            redis.call('HSET', KEYS[1], 'gen', ARGV[2], 'created_ms', ARGV[3], 'state', 'loading', 'dataset', ARGV[5])
            redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
            redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
            return { 'created' }
            """)

    // run-fail-load: marks a run that is still loading failed, with the reason, and stops its
    // clock (finished_ms); its lease goes.
    // KEYS: [1] meta hash, [2] submitter lease
    // ARGV: [1] generation, [2] now ms, [3] reason, [4] '1' to act only when the lease has
    //       lapsed (a scheduler declaring the load abandoned), '0' for the submitter itself
    // Returns: 1 marked, 0 not (purged, another generation, no longer loading, or its submitter
    //          is alive).
    static let failLoad = RedisScript(
        name: "run-fail-load",
        source: """
            if redis.call('EXISTS', KEYS[1]) == 0 or (redis.call('HGET', KEYS[1], 'gen') or '') ~= ARGV[1]
              or redis.call('HGET', KEYS[1], 'state') ~= 'loading' then
              return 0
            end
            if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
            redis.call('HSET', KEYS[1], 'state', 'failed', 'error', ARGV[3], 'finished_ms', ARGV[2])
            redis.call('DEL', KEYS[2])
            return 1
            """)
}
