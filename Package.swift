// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "GradTrace",
    products: [
        .library(name: "GradTrace", targets: ["GradTrace"]),
        .executable(name: "gradtrace", targets: ["gradtrace"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The core: graph, ops, backward trace, Value API, program language. No C, no file I/O.
        .target(name: "GradTrace"),
        .executableTarget(
            name: "gradtrace",
            dependencies: [
                "GradTrace",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "gradtrace-bench", dependencies: ["GradTrace"], path: "Benchmarks/gradtrace-bench"),
        .testTarget(name: "GradTraceTests", dependencies: ["GradTrace"]),
    ]
)
