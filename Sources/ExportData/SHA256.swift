import CCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// SHA-256, streaming, through OpenSSL's libcrypto: the dataset digest is computed over input
/// files as they are read, so no file is read twice.
public struct SHA256: @unchecked Sendable {
    private final class Context {
        let ctx: OpaquePointer
        init() {
            ctx = EVP_MD_CTX_new()
            EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        }
        init(copying other: Context) {
            ctx = EVP_MD_CTX_new()
            EVP_MD_CTX_copy_ex(ctx, other.ctx)
        }
        deinit { EVP_MD_CTX_free(ctx) }
    }

    private var context = Context()

    public init() {}

    public mutating func update(_ p: UnsafeRawBufferPointer) {
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        guard let base = p.baseAddress, p.count > 0 else { return }
        EVP_DigestUpdate(context.ctx, base, p.count)
    }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// The digest as lower-case hex (the value can go on being updated afterwards).
    public mutating func finalize() -> String {
        let done = Context(copying: context)
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        EVP_DigestFinal_ex(done.ctx, &out, &len)
        return out.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
    }
}

/// A shared SHA-256 that readers feed the raw bytes of every file they read, in order. Hashing
/// runs on its own thread (chunks are copied to it as they are read), so it does not slow the
/// parse on a machine with a spare core; `finalize` waits for it.
public final class DigestSink: @unchecked Sendable {
    // Guarded by `mutex`/`cond`: the queue of chunks, the closed flag and the finished count.
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var queue: [[UInt8]] = []
    private var queuedBytes = 0
    private var stopping = false
    private var running = false
    private var thread = pthread_t()
    /// Owned by the hashing thread while it runs.
    private var sha = SHA256()
    private static let maxQueuedBytes = 8 << 20

    public init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    deinit {
        _ = drain()
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    /// Starts a file: its name and size go into the digest first, so moving bytes between
    /// files changes it.
    public func beginFile(name: String, size: Int64) { enqueue(Array("\(name)\u{0}\(size)\u{0}".utf8)) }

    func update(_ p: UnsafeRawBufferPointer) { enqueue(Array(p)) }

    private func enqueue(_ chunk: [UInt8]) {
        pthread_mutex_lock(&mutex)
        if !running {
            running = true
            let me = Unmanaged.passRetained(self).toOpaque()
            pthread_create(
                &thread, nil,
                { arg in
                    let sink = Unmanaged<DigestSink>.fromOpaque(arg!).takeRetainedValue()
                    sink.work()
                    return nil
                }, me)
        }
        while queuedBytes >= Self.maxQueuedBytes { pthread_cond_wait(&cond, &mutex) }
        queue.append(chunk)
        queuedBytes += chunk.count
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
    }

    private func work() {
        while true {
            pthread_mutex_lock(&mutex)
            while queue.isEmpty && !stopping { pthread_cond_wait(&cond, &mutex) }
            if queue.isEmpty && stopping {
                pthread_mutex_unlock(&mutex)
                return
            }
            let chunks = queue
            queue.removeAll(keepingCapacity: true)
            pthread_mutex_unlock(&mutex)
            for c in chunks { c.withUnsafeBytes { sha.update($0) } }
            pthread_mutex_lock(&mutex)
            queuedBytes -= chunks.reduce(0) { $0 + $1.count }
            pthread_cond_broadcast(&cond)
            pthread_mutex_unlock(&mutex)
        }
    }

    /// Waits for the hashing thread to finish everything queued and stops it.
    private func drain() -> SHA256 {
        pthread_mutex_lock(&mutex)
        let wasRunning = running
        stopping = true
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
        if wasRunning { pthread_join(thread, nil) }
        pthread_mutex_lock(&mutex)
        running = false
        stopping = false
        pthread_mutex_unlock(&mutex)
        return sha
    }

    /// The digest of everything fed so far, as lower-case hex.
    public func finalize() -> String {
        var copy = drain()
        return copy.finalize()
    }
}
