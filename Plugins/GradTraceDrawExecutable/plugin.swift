import Foundation
import PackagePlugin

/// Makes SwiftPM build `gradtrace-draw` (the executable with the drawing commands) whenever it builds
/// `gradtrace`, which runs it for those commands: a target cannot depend on an executable without
/// linking that executable's libraries (Graphviz, Cairo, Pango), which `gradtrace` must not load at
/// start-up. The build command runs the freshly built `gradtrace-draw` once, with
/// `GRADTRACE_BUILD_STAMP` set, and it only writes a one-line Swift comment there.
@main
struct GradTraceDrawExecutable: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let tool = try context.tool(named: "gradtrace-draw")
        let stamp = context.pluginWorkDirectoryURL.appending(path: "DrawingExecutableStamp.swift")
        return [.buildCommand(displayName: "Building gradtrace-draw beside gradtrace", executable: tool.url, arguments: [],
                              environment: ["GRADTRACE_BUILD_STAMP": stamp.path], inputFiles: [tool.url], outputFiles: [stamp])]
    }
}
