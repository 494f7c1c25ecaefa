#if canImport(Glibc)
    import Glibc
#endif

/// Runs `transform` on items from `produce` on worker threads and hands the results to
/// `consume` on the calling thread, in production order: the output is the same as a sequential
/// loop, whatever the scheduling. `produce` runs on one producer thread of its own; a thrown
/// error stops production after the items before it, then is rethrown to the caller.
enum OrderedPipeline {
    static func run<In, Out>(
        workers: Int, depth: Int,
        produce: () throws -> In?,
        transform: (In) -> Out,
        consume: (Out) -> Void
    ) throws {
        try withoutActuallyEscaping(produce) { produce in
            try withoutActuallyEscaping(transform) { transform in
                let state = State<In, Out>(depth: depth)
                let box = Box(produce: produce, transform: transform)
                var threads: [pthread_t] = []
                threads.append(spawn { state.producerLoop(box) })
                for _ in 0..<max(1, workers) { threads.append(spawn { state.workerLoop(box) }) }
                defer { for t in threads { pthread_join(t, nil) } }
                try state.consumerLoop(consume)
            }
        }
    }

    /// Shared with the threads; they only run while `run` waits, so the closures outlive them.
    private final class Box<In, Out>: @unchecked Sendable {
        let produce: () throws -> In?
        let transform: (In) -> Out
        init(produce: @escaping () throws -> In?, transform: @escaping (In) -> Out) {
            self.produce = produce
            self.transform = transform
        }
    }

    /// Everything below is guarded by `mutex`.
    private final class State<In, Out>: @unchecked Sendable {
        var mutex = pthread_mutex_t()
        var changed = pthread_cond_t()
        let depth: Int
        var pending: [(Int, In)] = []
        var results: [Int: Out] = [:]
        var produced = 0
        var consumed = 0
        var finished = false
        var failure: (any Error)?
        var stop = false

        init(depth: Int) {
            self.depth = max(2, depth)
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&changed, nil)
        }

        deinit {
            pthread_cond_destroy(&changed)
            pthread_mutex_destroy(&mutex)
        }

        func producerLoop(_ box: Box<In, Out>) {
            while true {
                let item: In?
                do {
                    item = try box.produce()
                } catch {
                    lock()
                    failure = error
                    finished = true
                    broadcastAndUnlock()
                    return
                }
                lock()
                guard let item, !stop else {
                    finished = true
                    broadcastAndUnlock()
                    return
                }
                while produced - consumed >= depth && !stop { pthread_cond_wait(&changed, &mutex) }
                pending.append((produced, item))
                produced += 1
                broadcastAndUnlock()
            }
        }

        func workerLoop(_ box: Box<In, Out>) {
            while true {
                lock()
                while pending.isEmpty && !finished && !stop { pthread_cond_wait(&changed, &mutex) }
                if pending.isEmpty || stop {
                    broadcastAndUnlock()
                    return
                }
                let (seq, item) = pending.removeFirst()
                pthread_mutex_unlock(&mutex)
                let out = box.transform(item)
                lock()
                results[seq] = out
                broadcastAndUnlock()
            }
        }

        func consumerLoop(_ consume: (Out) -> Void) throws {
            while true {
                lock()
                while results[consumed] == nil && !(finished && consumed == produced) {
                    pthread_cond_wait(&changed, &mutex)
                }
                guard let out = results.removeValue(forKey: consumed) else {
                    let error = failure
                    stop = true
                    broadcastAndUnlock()
                    if let error { throw error }
                    return
                }
                consumed += 1
                broadcastAndUnlock()
                consume(out)
            }
        }

        private func lock() { pthread_mutex_lock(&mutex) }
        private func broadcastAndUnlock() {
            pthread_cond_broadcast(&changed)
            pthread_mutex_unlock(&mutex)
        }
    }

    private final class Runner: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    private static func spawn(_ body: @escaping () -> Void) -> pthread_t {
        var t = pthread_t()
        let r = Unmanaged.passRetained(Runner(body)).toOpaque()
        pthread_create(
            &t, nil,
            { arg in
                Unmanaged<Runner>.fromOpaque(arg!).takeRetainedValue().body()
                return nil
            }, r)
        return t
    }
}
