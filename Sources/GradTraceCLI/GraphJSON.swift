import GradTrace

/// The CLI's side of graph files: ``GradTrace/GraphJSON`` reads them; its errors become exit 2.
package enum GraphFile {
    package static func load(bytes: [UInt8], file: String, values: [String: Tensor], output: String?) throws -> Program {
        do {
            return try GraphJSON.read(bytes: bytes, file: file, values: values, output: output)
        } catch let e as GraphJSONError {
            if case .syntax = e { throw CLIError(located: e.description) }
            throw CLIError(e.description)
        }
    }
}
