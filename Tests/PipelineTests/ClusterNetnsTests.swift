import Foundation
import ProcessSupport
import TestSupport
import Testing

/// Whether this machine lets the test make network namespaces (root and iproute2), and why not.
enum Netns {
    static let unavailableReason: String? = {
        guard geteuid() == 0 else { return "network namespaces need root; ops/cluster-netns was not run" }
        guard let ip = findExecutable("ip") else {
            return "iproute2 (ip) is not installed; ops/cluster-netns was not run"
        }
        let name = "egprobe\(getpid())"
        guard let add = try? ChildProcess(executable: ip, arguments: ["netns", "add", name]), add.wait() == 0 else {
            return "this machine refuses `ip netns add` (no CAP_SYS_ADMIN?); ops/cluster-netns was not run"
        }
        _ = try? ChildProcess(executable: ip, arguments: ["netns", "del", name]).wait()
        return nil
    }()
}

@Suite("Many hosts: ops/cluster-netns", .serialized)
struct ClusterNetnsTests {
    @Test(
        .enabled(if: Netns.unavailableReason == nil, Comment(rawValue: Netns.unavailableReason ?? "")),
        .timeLimit(.minutes(10)))
    func aCutWorkerHostChangesNothingInTheReport() async throws {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var dir = bin
        if !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("export-worker").path) {
            dir = bin.deletingLastPathComponent()
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-\(getpid())").path
        let log = out + ".log"
        let p = try ChildProcess(
            executable: "/bin/bash",
            arguments: [
                AclTests.repo + "/ops/cluster-netns", "--bin", dir.path, "--firms", "20000", "--workers", "3", "--out",
                out,
            ], stdoutPath: log, stderrPath: log)
        let status = await exitStatus(of: p)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "ops/cluster-netns failed:\n\(text)")
        #expect(text.contains("reports identical: yes"), "\(text)")
        // Nothing left behind: no namespace of this run.
        let list = try ChildProcess(
            executable: findExecutable("ip")!, arguments: ["netns", "list"], stdoutPath: log + ".ns")
        _ = list.wait()
        let left = (try? String(contentsOfFile: log + ".ns", encoding: .utf8)) ?? ""
        #expect(!left.contains("eg"), "namespaces left behind: \(left)")
        try? FileManager.default.removeItem(atPath: out)
    }
}
