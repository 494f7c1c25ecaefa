import ArgumentParser

@main
struct ExportCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exportctl",
        abstract: "Operate ExportGrid, the SME export-expansion cluster.",
        discussion: """
            Every command reads REDIS_URL (redis://[user:password@]host:port[/db]) and
            EXPORTGRID_NAMESPACE (key prefix, default exportgrid). Credentials are never printed.
            """,
        subcommands: [
            Generate.self, Validate.self, Submit.self, Status.self, Report.self, Runs.self, Workers.self, Jobs.self,
            Dead.self, Pause.self, Resume.self, Monitor.self, LoadExports.self, Demo.self, Bench.self,
        ]
    )
}
