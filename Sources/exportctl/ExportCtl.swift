import ArgumentParser
import JobQueue
import ProcessSupport

@main
struct ExportCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exportctl",
        abstract: "Operate ExportGrid, the SME export-expansion cluster.",
        discussion: """
            Every command reads REDIS_URL (redis://[user:password@]host:port[/db]) and
            EXPORTGRID_NAMESPACE (key prefix, default exportgrid). Credentials are never printed.

            Exit status: 0 ok (for status RUN: done or still going), 1 another failure, 2 the run
            failed, 3 no such run, 64 a bad flag, argument or REDIS_URL, 65 the dataset cannot be
            used, 69 Redis unreachable or the connection lost, 77 refused (authentication, an ACL
            without the permission).
            """,
        version: ExportGridVersion.current,
        subcommands: [
            Generate.self, Validate.self, Submit.self, Status.self, Report.self, Runs.self, Workers.self, Jobs.self,
            Dead.self, Pause.self, Resume.self, Monitor.self, LoadExports.self, Demo.self, Bench.self,
        ]
    )

    /// ArgumentParser's own main, after ignoring SIGPIPE: a write to a Redis connection that
    /// broke, or to a pipe whose reader left (`exportctl runs list | head -1`), is an error the
    /// command handles (or, for stdout, a quiet end), never a silent death with status 141.
    static func main() async {
        do { try await parseAndRun() } catch { exit(withError: error) }
    }
}
