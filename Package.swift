// swift-tools-version:6.0
import PackageDescription

/// The commit `sluice --version` names: `make` passes it (`SLUICE_COMMIT=$(git rev-parse --short HEAD)`);
/// a plain `swift build` says it does not know.
let commit = Context.environment["SLUICE_COMMIT"].flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluice-mock", targets: ["sluice-mock"]),
        .executable(name: "sluice-bench", targets: ["sluice-bench"]),
        // The Swift API: configure a job, run it (progress as an AsyncSequence), read its status and results.
        .library(name: "Sluice", targets: ["Sluice"]),
        .library(name: "SluiceMockServer", targets: ["SluiceMockServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // `make docs`: the Sluice library's DocC catalogue (Sources/Sluice/Sluice.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // glibc's mallopt, for sluice's arena cap (Sources/sluice/Support/MallocArenas.swift).
        .systemLibrary(name: "CMalloc"),
        // The commit the binary was built from, for `sluice --version`.
        .target(name: "CBuildInfo", cSettings: [.define("SLUICE_COMMIT", to: "\"\(commit)\"")]),
        // The pipeline: input reading, request building, scheduling/retry,
        // gateway client, checkpoint store and output, one folder per stage.
        .target(
            name: "SluiceCore",
            dependencies: [
                "CSQLite", "CZlib", "CZstd",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],

        ),
        // The Swift API (`import Sluice`): a small public surface over SluiceCore, whose declarations are
        // `package`, shared with the executables and tests but no one else's to depend on.
        .target(
            name: "Sluice",
            dependencies: [
                "SluiceCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "sluice",
            dependencies: [
                "SluiceCore", "CBuildInfo", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],

        ),
        // The OpenAI-compatible gateway emulator used by tests, `make demo` and benchmarks.
        .target(
            name: "SluiceMockServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],

        ),
        .executableTarget(
            name: "sluice-mock",
            dependencies: [
                "SluiceMockServer",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],

        ),
        // `make bench`: measures sluice against sluice-mock (a tool, not a test).
        .executableTarget(
            name: "sluice-bench",
            dependencies: [
                "SluiceCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],

        ),
        .testTarget(
            name: "SluiceTests",
            dependencies: [
                "SluiceCore", "SluiceMockServer", "CSQLite", "CZlib",
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["Fixtures"],

        ),
        // The library's API as its users see it: `import Sluice`, never `@testable`.
        .testTarget(
            name: "SluiceAPITests",
            dependencies: [
                "Sluice", "SluiceMockServer", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
    ]
)
