#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with posix_spawn, with an empty signal mask and default signal
/// dispositions. (Swift's runtime blocks signals in the parent; a child that inherited that mask
/// would ignore SIGTERM, so graceful stops would never reach it.)
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let executable: String
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`; `environment` nil inherits ours. Output goes to
    /// `stdoutPath`/`stderrPath` (appended) or is inherited when nil.
    public init(
        executable: String, arguments: [String], environment: [String: String]? = nil,
        stdoutPath: String? = nil, stderrPath: String? = nil, newProcessGroup: Bool = false
    ) throws {
        self.executable = executable
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attr, 0)
        }
        posix_spawnattr_setflags(&attr, Int16(flags))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let mode = mode_t(0o644)
        if let p = stdoutPath { posix_spawn_file_actions_addopen(&actions, 1, p, O_WRONLY | O_CREAT | O_APPEND, mode) }
        if let p = stderrPath { posix_spawn_file_actions_addopen(&actions, 2, p, O_WRONLY | O_CREAT | O_APPEND, mode) }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let envStrings: [String]? = environment.map { env in env.map { "\($0.key)=\($0.value)" } }
        let envp = envStrings.map { $0.map { strdup($0) } + [nil] }
        defer { envp?.forEach { free($0) } }

        var child = pid_t()
        let rc: Int32
        if let envp {
            rc = posix_spawn(&child, executable, &actions, &attr, argv, envp)
        } else {
            rc = posix_spawn(&child, executable, &actions, &attr, argv, environ)
        }
        guard rc == 0 else {
            throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
    }

    /// True until the child has exited and been reaped.
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            exitStatus = status
            return false
        }
        return r == 0
    }

    public func signal(_ sig: Int32) {
        if isRunning { kill(pid, sig) }
    }

    /// Waits for exit; returns the exit code (128 + signal when killed by a signal).
    @discardableResult
    public func wait() -> Int32 {
        if exitStatus == nil {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            exitStatus = status
        }
        let s = exitStatus!
        return (s & 0x7f) == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f)
    }

    /// Waits for exit; returns the exit code and the child's peak resident set size in kB.
    public func waitWithUsage() -> (status: Int32, maxRSSkB: Int) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) == -1 && errno == EINTR {}
        exitStatus = status
        return (wait(), Int(usage.ru_maxrss))
    }

    /// SIGTERM, then SIGKILL if still running after `grace` seconds.
    public func stop(grace: Double = 5) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        var waited = 0.0
        while isRunning && waited < grace {
            usleep(20_000)
            waited += 0.02
        }
        if isRunning { kill(pid, SIGKILL) }
        wait()
    }
}

/// A child process could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Finds an executable on PATH (and the usual sbin directories).
public func findExecutable(_ name: String) -> String? {
    if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/bin", "/usr/bin"] {
        let candidate = dir + "/" + name
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}
