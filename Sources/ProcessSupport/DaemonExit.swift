import ArgumentParser
import Logging
import RedisClient

/// How `export-worker` and `export-scheduler` end when they cannot go on. The codes are part of
/// their contract (ops/RUNBOOK.md, "Exit codes of the daemons"): 0 stopped when told, 64 a bad
/// flag, 78 a configuration that retrying cannot fix, 1 anything else, 130 a second signal.
public enum DaemonExit {
    /// EX_CONFIG: Redis refused the credentials, the database or a command (ACL), or REDIS_URL
    /// or the password file is unusable. A supervisor should not restart the daemon until the
    /// configuration changes.
    public static let configuration: Int32 = 78
    /// Any other error the daemon cannot carry on from.
    public static let failure: Int32 = 1

    /// Reads REDIS_URL (naming the connection `clientName`) and runs `serve` with it; whatever
    /// ends it with an error ends the daemon through `stopping(because:user:logger:)`.
    public static func serving(
        as clientName: String, logger: Logger, _ serve: (RedisConfiguration) async throws -> Void
    ) async throws {
        var user: String?
        do {
            var redisConfig = try RedisConfiguration.fromEnvironment()
            redisConfig.clientName = clientName
            user = redisConfig.url.user
            try await serve(redisConfig)
        } catch {
            throw stopping(because: error, user: user, logger: logger)
        }
    }

    /// Logs why the daemon stops, as one line through `logger` (text or JSON, like every other
    /// line), and returns what to throw from `run()`: an `ExitCode`, so ArgumentParser prints
    /// nothing more. Usage errors (`ValidationError`) pass through and exit 64.
    public static func stopping(because error: any Error, user: String?, logger: Logger) -> any Error {
        switch error {
        case is ValidationError, is ExitCode, is CleanExit:
            return error
        case let e as RedisError where e.retryCannotFix:
            logger.critical("cannot run: \(e.unfixableReason(user: user))", metadata: ["exit_code": "\(configuration)"])
            return ExitCode(configuration)
        case is RedisURLError, is SecretFileError:
            logger.critical("cannot run: \(error)", metadata: ["exit_code": "\(configuration)"])
            return ExitCode(configuration)
        default:
            logger.critical("stopping on an error: \(error)", metadata: ["exit_code": "\(failure)"])
            return ExitCode(failure)
        }
    }
}
