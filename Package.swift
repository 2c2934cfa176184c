// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "GradTrace",
    products: [
        .library(name: "GradTrace", targets: ["GradTrace"]),
        .library(name: "GradTraceRender", targets: ["GradTraceRender"]),
        .executable(name: "gradtrace", targets: ["gradtrace"]),
        .executable(name: "gradtrace-draw", targets: ["gradtrace-draw"]),
        .plugin(name: "GradTraceDocs", targets: ["GradTraceDocs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The core: graph, ops, backward trace, Value API, program language, scenes. No file I/O; its only C
        // is the tensor engine's matrix kernels.
        .target(name: "GradTrace", dependencies: ["CKernels"]),
        // The matrix-product kernels: AVX-512, AVX2/FMA and portable paths chosen at run time (CPUID).
        .target(name: "CKernels"),

        // C libraries, found through pkg-config; the apt packages are named for SwiftPM's hints.
        .systemLibrary(name: "CGraphviz", pkgConfig: "libgvc", providers: [.apt(["libgraphviz-dev"])]),
        .systemLibrary(name: "CCairo", pkgConfig: "pangocairo", providers: [.apt(["libcairo2-dev", "libpango1.0-dev"])]),
        .systemLibrary(name: "CImageCodecs", pkgConfig: "libpng", providers: [.apt(["libpng-dev", "libgif-dev"])]),
        // libdeflate: the PNG encoder's deflate (whole-buffer, faster than zlib at equal size).
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),

        // The temporary files in flight, for a signal handler to remove (async-signal-safe C).
        .target(name: "CTempFiles"),

        // The atomic writer (and RenderError): FoundationEssentials only, no drawing libraries.
        .target(name: "GradTraceFiles", dependencies: ["CTempFiles"]),
        // DOT, Graphviz layout, Cairo/Pango painting, animations; re-exports GradTraceFiles.
        .target(name: "GradTraceRender", dependencies: ["GradTrace", "GradTraceFiles", "CGraphviz", "CCairo", "CImageCodecs", "CDeflate", "CTempFiles"]),

        // The commands that draw nothing, the program options and the exit-code rules, shared by both executables.
        .target(name: "GradTraceCLI", dependencies: ["GradTrace", "GradTraceFiles", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // `gradtrace`: runs trace, grad, check, generate and functions itself without loading Graphviz, Cairo or
        // Pango (start-up), and every other command line through gradtrace-draw beside it. A target dependency
        // on gradtrace-draw would link the drawing libraries into gradtrace; the build plugin instead makes
        // `swift build --product gradtrace` and `swift run gradtrace` build it (as gradtrace-draw-tool).
        .executableTarget(name: "gradtrace", dependencies: ["GradTraceCLI"], plugins: ["GradTraceDrawExecutable"]),
        .plugin(name: "GradTraceDrawExecutable", capability: .buildTool(), dependencies: ["gradtrace-draw"]),
        // Every command, the drawing ones included (`gradtrace` runs it from its own folder).
        .executableTarget(
            name: "gradtrace-draw",
            dependencies: [
                "GradTrace",
                "GradTraceRender",
                "GradTraceCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Throughput and render-time measurements: `swift run -c release gradtrace-bench`.
        .executableTarget(name: "gradtrace-bench", dependencies: ["GradTrace", "GradTraceRender"], path: "Benchmarks/gradtrace-bench"),

        // `swift package --allow-writing-to-package-directory gradtrace-docs [IN] [OUT]`: runs
        // `gradtrace markdown` (default: docs/ into the GradTrace DocC catalog, images in its Resources).
        .plugin(
            name: "GradTraceDocs",
            capability: .command(
                intent: .custom(verb: "gradtrace-docs",
                                description: "Replace ```gradtrace fences in Markdown (default: docs/) with diagrams, into a DocC catalog (default: Sources/GradTrace/GradTrace.docc)"),
                permissions: [.writeToPackageDirectory(reason: "writes the converted Markdown and its images into the package")]
            ),
            dependencies: ["gradtrace-draw"]
        ),

        // micrograd's README demo through the Swift API (the CLI tests run it).
        .executableTarget(name: "gradtrace-example-mlp", dependencies: ["GradTrace", "GradTraceRender"], path: "Examples/mlp-demo"),

        .testTarget(name: "GradTraceTests", dependencies: ["GradTrace"]),
        .testTarget(name: "GradTraceRenderTests", dependencies: ["GradTrace", "GradTraceRender", "CDeflate"],
                    exclude: ["References"]),
        .testTarget(name: "GradTraceCLITests", dependencies: ["gradtrace", "gradtrace-example-mlp"]),
    ]
)
