import Foundation
import GradTrace

/// Reads a graph given as JSON (README: "Graphs as JSON") into a ``Program``.
///
/// `{"output": ID or NAME (optional), "nodes": [{"id", "name", "op", "inputs", "value"}, …]}`; the `nodes`
/// of `trace --json` are accepted as they are (extra keys such as `grad` are ignored).
enum GraphJSON {
    /// A JSON value, decoded strictly (a number is never a boolean).
    indirect enum Value: Decodable {
        case null, bool(Bool), number(Double), string(String), array([Value]), object([String: Value])

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([Value].self) { self = .array(a) }
            else { self = .object(try c.decode([String: Value].self)) }
        }

        var kind: String {
            switch self {
            case .null: return "null"
            case .bool: return "a boolean"
            case .number: return "a number"
            case .string: return "a string"
            case .array: return "an array"
            case .object: return "an object"
            }
        }
    }

    static func load(bytes: [UInt8], file: String, inputs: [String: Double], output result: String?) throws -> Program {
        func fail(_ message: String) -> CLIError { CLIError("\(file): \(message)") }
        let top: Value
        do {
            top = try JSONDecoder().decode(Value.self, from: Data(bytes))
        } catch {
            throw fail("not valid JSON (\(describe(error)))")
        }
        guard case .object(let root) = top else { throw fail("a graph is a JSON object with \"nodes\", not \(top.kind)") }
        guard case .array(let items)? = root["nodes"] else {
            throw fail("a graph needs \"nodes\": an array of {\"id\", \"name\", \"op\", \"inputs\", \"value\"}")
        }
        var nodes: [NodeDescription] = []
        nodes.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .object(let o) = item else { throw fail("nodes[\(index)] is \(item.kind), not an object") }
            guard let id = integer(o["id"]) else { throw fail("nodes[\(index)]: \"id\" must be an integer") }
            let label = "node \(id)"
            var name: String?
            switch o["name"] {
            case nil, .null?: name = nil
            case .string(let s)?: name = s.isEmpty ? nil : s
            case let other?: throw fail("\(label): \"name\" must be a string or null, not \(other.kind)")
            }
            let named = name.map { "\(label) ('\($0)')" } ?? label
            let op: String
            switch o["op"] {
            case .string(let s)?: op = s
            case nil, .null?: op = ""
            case let other?: throw fail("\(named): \"op\" must be a string, not \(other.kind)")
            }
            var ins: [Int] = []
            switch o["inputs"] {
            case nil, .null?: break
            case .array(let a)?:
                for v in a {
                    guard let i = integer(v) else { throw fail("\(named): \"inputs\" must hold node ids (integers), found \(v.kind)") }
                    ins.append(i)
                }
            case let other?: throw fail("\(named): \"inputs\" must be an array of node ids, not \(other.kind)")
            }
            var value: Double?
            if let v = o["value"], !isNull(v) {
                guard let d = number(v) else { throw fail("\(named): \"value\" is not a number (\(v.kind))") }
                value = d
            }
            var exponent: Double?
            if let v = o["exponent"], !isNull(v) {
                guard let d = number(v) else { throw fail("\(named): \"exponent\" is not a number (\(v.kind))") }
                exponent = d
            }
            nodes.append(NodeDescription(id: id, name: name, op: op, inputs: ins, value: value, exponent: exponent))
        }
        var output: OutputReference?
        switch root["output"] {
        case nil, .null?: output = nil
        case .string(let s)?: output = .name(s)
        case let v?:
            guard let id = integer(v) else { throw fail("\"output\" must be a node id or a name, not \(v.kind)") }
            output = .id(id)
        }
        do {
            return try Program.build(nodes: nodes, output: output, inputs: inputs, result: result)
        } catch let e as GraphDescriptionError {
            throw fail(e.message)
        }
    }

    static func isNull(_ v: Value) -> Bool { if case .null = v { return true } else { return false } }

    static func integer(_ v: Value?) -> Int? {
        guard case .number(let d)? = v, d.rounded() == d, abs(d) < 9e15 else { return nil }
        return Int(d)
    }

    /// A number, or one of the strings `trace --json` writes for non-finite values.
    static func number(_ v: Value) -> Double? {
        switch v {
        case .number(let d): return d
        case .string("nan"): return .nan
        case .string("inf"): return .infinity
        case .string("-inf"): return -.infinity
        default: return nil
        }
    }

    static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let c) = error {
            let under = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return under ?? c.debugDescription
        }
        return "\(error)"
    }
}
