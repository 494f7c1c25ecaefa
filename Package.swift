// swift-tools-version: 6.0
import PackageDescription

// Layers, each testable without the ones above it:
//   CHiredis <- RedisClient <- JobQueue <- ExportServices <- executables
//   ExportDomain (pure) <- ExportData (files) <- ExportServices
let package = Package(
    name: "ExportGrid",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "exportctl", targets: ["exportctl"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "RedisClient",
            dependencies: ["CHiredis", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "JobQueue",
            dependencies: [
                "RedisClient", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(name: "ExportDomain"),
        .systemLibrary(
            name: "CCrypto",
            path: "Sources/CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "ExportData", dependencies: ["ExportDomain", "CCrypto"]),
        .target(
            name: "ProcessSupport",
            dependencies: [
                "RedisClient", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "ExportServices",
            dependencies: [
                "RedisClient", "JobQueue", "ExportDomain", "ExportData", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ExportBench",
            dependencies: [
                "RedisClient", "JobQueue", "ExportDomain", "ExportData", "ExportServices", "ProcessSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "exportctl",
            dependencies: [
                "RedisClient", "JobQueue", "ExportDomain", "ExportData", "ExportServices", "ExportBench", "ProcessSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "export-worker",
            dependencies: [
                "RedisClient", "JobQueue", "ExportServices", "ProcessSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Workers"
        ),
        .executableTarget(
            name: "export-scheduler",
            dependencies: [
                "RedisClient", "JobQueue", "ExportDomain", "ExportServices", "ProcessSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Scheduler"
        ),
        .target(
            name: "TestSupport",
            dependencies: ["RedisClient", "ProcessSupport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "TestSupport"]),
        .testTarget(name: "ExportDataTests", dependencies: ["ExportData", "ExportDomain", "TestSupport"]),
        .testTarget(name: "ExportDomainTests", dependencies: ["ExportDomain", "TestSupport"]),
        .executableTarget(
            name: "queue-probe",
            dependencies: ["JobQueue", "RedisClient", "ProcessSupport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/QueueProbe"
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "ExportServices", "ExportData", "ExportDomain", "JobQueue", "RedisClient", "TestSupport", "ProcessSupport",
                "exportctl", "export-worker", "export-scheduler",
            ]
        ),
        .testTarget(
            name: "JobQueueTests",
            dependencies: ["JobQueue", "RedisClient", "TestSupport", "ProcessSupport", "queue-probe"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
