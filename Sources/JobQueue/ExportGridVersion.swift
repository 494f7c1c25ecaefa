/// The version every process reports in the worker registry and `--version`.
public enum ExportGridVersion {
    public static let current = "0.1.0"
}
