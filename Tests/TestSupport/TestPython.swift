import Foundation

/// The Python interpreter `ops/test` prepares in a virtual environment of its own, with the
/// reference packages the tests compare against (the `matching` package's hospital/residents
/// solver, openpyxl).
public enum TestPython {
    /// The environment variable `ops/test` sets.
    public static let variable = "EXPORTGRID_TEST_PYTHON"

    /// The interpreter. Without it the test fails with how to run it: a comparison with a
    /// reference never passes silently.
    public static func executable() throws -> String {
        guard let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty else {
            throw TestSetupError(
                "\(variable) is not set: this test compares against Python reference packages. Run the suite "
                    + "with ops/test, which builds their virtual environment and sets it.")
        }
        return path
    }

    /// Runs `script` with `arguments`; returns its standard output, or throws with its
    /// standard error when it exits non-zero.
    public static func run(_ script: String, arguments: [String] = []) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try executable())
        p.arguments = ["-c", script] + arguments
        let out = Pipe()
        // Standard error to a file: only standard output is read while the child runs.
        let errPath = NSTemporaryDirectory() + "exportgrid-python-\(UUID().uuidString).err"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer { try? err.close() }
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let stderr = FileManager.default.contents(atPath: errPath) ?? Data()
        guard p.terminationStatus == 0 else {
            throw TestSetupError(
                "python exited \(p.terminationStatus): " + String(decoding: stderr, as: UTF8.self).suffix(2_000))
        }
        return String(decoding: stdout, as: UTF8.self)
    }
}
