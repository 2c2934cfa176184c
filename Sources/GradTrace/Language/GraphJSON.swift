/// Why a graph file cannot be read: a located syntax error, a node that is wrong (named), or the graph as a whole.
public enum GraphJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not JSON, or JSON of the wrong shape, at a place: `g.json:1:12: error: …`, an excerpt and a caret.
    case syntax(file: String, line: Int, column: Int, message: String, excerpt: String, caret: Int)
    /// A node that cannot be built: `g.json: node 3 ('Z'): …` (the CLI puts `gradtrace: error:` first).
    case node(file: String, node: String, message: String)
    /// The graph as a whole: `g.json: the graph has no nodes`.
    case graph(file: String, message: String)

    public var description: String {
        switch self {
        case .syntax(let f, let l, let c, let m, let e, let k):
            return "\(f):\(l):\(c): error: \(m)\n\(e)\n" + String(repeating: " ", count: k) + "^"
        case .node(let f, let n, let m): return "\(f): \(n): \(m)"
        case .graph(let f, let m): return "\(f): \(m)"
        }
    }
}

/// The gradients a framework computed for a graph (`"reference": {"grads": …}`), which `gradtrace check` compares with GradTrace's.
public struct ReferenceGradients: Sendable {
    /// Input name and the framework's gradient, in file order.
    public var grads: [(name: String, value: Tensor)]
    /// The largest relative difference that still agrees (default 1e-9).
    public var tolerance: Double
    /// Where they came from (`"source": {"framework": "torch", "version": "2.5.1"}`), for the report.
    public var source: String?

    /// Gradients by input name, the tolerance they are held to, and where they came from.
    public init(grads: [(name: String, value: Tensor)], tolerance: Double = 1e-9, source: String? = nil) {
        self.grads = grads
        self.tolerance = tolerance
        self.source = source
    }
}

/// Reads a graph given as JSON: version 1 (scalar nodes, as `trace --json` writes for scalar programs and
/// the micrograd bridge writes) and version 2 (tensors, roles, modules, options, reference gradients).
///
/// ```json
/// {"format": "gradtrace-graph/2", "output": "L",
///  "nodes": [{"id": 0, "name": "W", "op": "input", "role": "parameter", "value": {"shape": [2], "data": [1, 2]}},
///            {"id": 1, "name": "L", "op": "sum", "inputs": [0]}]}
/// ```
///
/// Leaves take their `value`; operations are computed again from their inputs, so a tampered file cannot
/// draw wrong arithmetic (a declared `"shape"` that disagrees is refused). Keys the reader does not know are
/// skipped without being built; every problem is an error naming the place or the node.
///
/// - Complexity: O(bytes + nodes + edges) time, nesting capped at ``JSONScanner/maxDepth``, no recursion.
public enum GraphJSON {
    /// The most nodes a graph file may hold.
    public static let maxNodes = 4_000_000
    /// The longest name (bytes).
    public static let maxNameBytes = 1000

    /// The `"format"` values this reader knows.
    public static let formats = ["gradtrace-graph/1", "gradtrace-graph/2"]

    /// One node as the file gives it. Small (what every node has is inline, the rest in a box), so
    /// that a graph of 10⁶ scalar nodes reads quickly.
    struct Node: NodeDescribing {
        var id = 0
        /// The first name.
        var name: String?
        var op = ""
        var inputs: [Int] = []
        /// A plain number `"value"`.
        var scalar: Double?
        /// True when this node needs the tensor engine (a `{"shape", "data"}` value, a `"shape"`, a tensor op).
        var isTensor = false
        /// Everything else, when the node has any of it.
        var more: More?

        final class More {
            var aliases: [String] = []
            var tensor: Tensor?
            var shape: [Int]?
            var options: [String: TensorOp.JSONOption] = [:]
            var role: String?
            var dtype: String?
            var module: String?
        }

        var extra: More {
            mutating get {
                if let m = more { return m }
                let m = More()
                more = m
                return m
            }
        }

        /// Every name, the first first.
        var names: [String] { name.map { [$0] + (more?.aliases ?? []) } ?? [] }
        var value: Tensor? { scalar.map { Tensor($0) } ?? more?.tensor }
        var shape: [Int]? { more?.shape }
        var options: [String: TensorOp.JSONOption] { more?.options ?? [:] }
        /// A scalar graph's leaf value: a plain number, or a tensor value of shape [].
        var leafValue: Double? { scalar ?? more?.tensor?.scalar }
        /// A one-input `pow`'s constant exponent.
        var exponent: Double? {
            if case .number(let c)? = more?.options["exponent"] { return c }
            return nil
        }
        var role: String? { more?.role }
        var dtype: String? { more?.dtype }
        var module: String? { more?.module }

        var label: String { name.map { "node \(id) ('\($0.escapedForMessage)')" } ?? "node \(id)" }
    }

    /// What the file holds, before building.
    struct Document {
        var format: String?
        var output: OutputReference?
        var nodes: [Node] = []
        var reference: ReferenceGradients?
    }

    /// Reads and builds the graph.
    ///
    /// - Parameters:
    ///   - bytes: the file.
    ///   - file: its name in messages.
    ///   - values: `--at` values for named inputs (a tensor input's must have its shape).
    ///   - output: `--result`: a name that picks the result.
    /// - Throws: ``GraphJSONError``, or ``Program/Problem`` for bad `values` or `output` names.
    public static func read(bytes: [UInt8], file: String, values: [String: Tensor] = [:], output result: String? = nil) throws -> Program {
        // UTF-8 is checked inside strings, the only place JSON allows bytes above 0x7F.
        let bom = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0  // as some editors write
        let doc = try bytes.withUnsafeBufferPointer { all throws(GraphJSONError) -> Document in
            let buffer = UnsafeBufferPointer(rebasing: all[bom...])
            var scanner = JSONScanner(buffer, count: buffer.count, file: file)
            return try document(&scanner)
        }
        guard !doc.nodes.isEmpty else { throw GraphJSONError.graph(file: file, message: "the graph has no nodes") }
        let tensor = doc.format == "gradtrace-graph/2" || doc.nodes.contains { $0.isTensor }
        var program: Program
        if tensor {
            program = try buildTensor(doc, file: file, values: values, result: result)
        } else {
            var scalars: [String: Double] = [:]
            for (name, v) in values {
                guard v.isScalar else { throw Program.Problem.wrongShape(name: name, given: v.shapeText, expected: "[] (a number)") }
                scalars[name] = v.scalar
            }
            do {
                program = try Program.build(described: doc.nodes, output: doc.output, inputs: scalars, result: result)
            } catch let e as GraphDescriptionError {
                throw GraphJSONError.graph(file: file, message: e.message)
            }
        }
        program.reference = doc.reference
        return program
    }

    // MARK: reading

    static func document(_ s: inout JSONScanner) throws(GraphJSONError) -> Document {
        var doc = Document()
        try s.beginObject("a graph (a JSON object with \"nodes\")")
        var first = true
        var sawNodes = false
        var opKinds = OpKinds()
        while let key = try s.nextKey(&first) {
            let at = s.offset
            switch key {
            case "format":
                guard try s.kind() == .string else { throw s.error(at: s.offset, "\"format\" must be a string such as \"gradtrace-graph/2\"") }
                let f = try s.string()
                guard formats.contains(f) else {
                    throw s.error(at: at, "unknown \"format\" \"\(f)\": this gradtrace reads " + formats.map { "\"\($0)\"" }.joined(separator: " and "))
                }
                doc.format = f
            case "output":
                switch try s.kind() {
                case .null: _ = try s.null()
                case .string: doc.output = .name(try s.string())
                case .number:
                    let start = s.offset
                    let d = try s.number()
                    guard d == d.rounded(), Swift.abs(d) < 9e15 else { throw s.error(at: start, "\"output\" must be a node id (a whole number) or a name, not \(s.text(from: start))") }
                    doc.output = .id(Int(d))
                case let k: throw s.error(at: s.offset, "\"output\" must be a node id or a name, not \(k.described)")
                }
            case "nodes":
                sawNodes = true
                try s.beginArray("\"nodes\"")
                var firstNode = true
                while try s.nextElement(&firstNode) {
                    guard doc.nodes.count < maxNodes else { throw s.error(at: s.offset, "more than \(maxNodes) nodes") }
                    doc.nodes.append(try node(&s, index: doc.nodes.count, ops: &opKinds))
                }
            case "reference":
                doc.reference = try reference(&s, into: doc.reference)
            case "source":
                var source = ""
                if try s.kind() == .object {
                    try s.beginObject("\"source\"")
                    var f = true
                    while let k = try s.nextKey(&f) {
                        if (k == "framework" || k == "version"), try s.kind() == .string {
                            let v = try s.string()
                            source += (source.isEmpty ? "" : " ") + String(v.unicodeScalars.filter { $0.value >= 32 && $0.value != 127 }.prefix(40).map(Character.init))
                        } else { try s.skipValue() }
                    }
                } else { try s.skipValue() }
                if !source.isEmpty {
                    var r = doc.reference ?? ReferenceGradients(grads: [], tolerance: 1e-9)
                    r.source = source
                    doc.reference = r
                }
            default:
                try s.skipValue()  // value, granularity, inputs, steps of a trace; anything else
            }
        }
        try s.end()
        guard sawNodes else {
            throw s.error(at: 0, "a graph needs \"nodes\": an array of {\"id\", \"name\", \"op\", \"inputs\", \"value\"}")
        }
        if let r = doc.reference, r.grads.isEmpty { doc.reference = nil }
        return doc
    }

    static func reference(_ s: inout JSONScanner, into current: ReferenceGradients?) throws(GraphJSONError) -> ReferenceGradients {
        var r = current ?? ReferenceGradients(grads: [], tolerance: 1e-9)
        try s.beginObject("\"reference\"")
        var first = true
        while let key = try s.nextKey(&first) {
            switch key {
            case "grads":
                try s.beginObject("\"reference\": \"grads\" (input name → gradient)")
                var f = true
                while let name = try s.nextKey(&f) {
                    if let problem = nameProblem(name) { throw s.error(at: s.offset, "\"reference\": \"grads\": \(problem)") }
                    let v = try tensor(&s, what: "\"reference\" gradient of '\(name)'", integer: false)
                    r.grads.append((name, v))
                }
            case "tolerance":
                let start = s.offset
                guard try s.kind() == .number else { throw s.error(at: start, "\"tolerance\" must be a number") }
                let t = try s.number()
                guard t.isFinite, t >= 0 else { throw s.error(at: start, "\"tolerance\" \(s.text(from: start)) must be a finite number ≥ 0") }
                r.tolerance = t
            default: try s.skipValue()
            }
        }
        return r
    }

    /// One node object; `index` is its place in `"nodes"` (for messages before its id is known).
    /// Whether an op name needs the tensor engine, remembered for the last few names (a graph repeats a handful).
    struct OpKinds {
        var names: [String] = []
        var tensor: [Bool] = []

        mutating func isTensor(_ op: String) -> Bool {
            if let k = names.firstIndex(of: op) { return tensor[k] }
            let t = !GraphJSON.isScalarOp(op) && TensorOp.jsonArity[op] != nil
            if names.count < 16 { names.append(op); tensor.append(t) }
            return t
        }
    }

    static func node(_ s: inout JSONScanner, index: Int, ops: inout OpKinds) throws(GraphJSONError) -> Node {
        let open = s.offset
        try s.beginObject("nodes[\(index)]")
        var n = Node()
        var sawID = false
        var first = true
        var valueAt = -1
        var pending: [(key: String, at: Int, value: TensorOp.JSONOption)] = []
        func fail(_ at: Int, _ message: String) -> GraphJSONError {
            s.error(at: at, (sawID ? n.label : "nodes[\(index)]") + ": " + message)
        }
        while let raw = try s.nextRawKey(&first) {
            let at = s.offset
            switch NodeKey(raw, s.bytes) {
            case .id:
                guard try s.kind() == .number else { throw fail(at, "\"id\" must be a whole number") }
                let d = try s.number()
                guard d == d.rounded(), Swift.abs(d) < 9e15 else { throw fail(at, "\"id\" \(s.text(from: at).trimmingBlanks) must be a whole number below 9e15") }
                n.id = Int(d)
                sawID = true
            case .name:
                if try s.null() { break }
                guard try s.kind() == .string else { throw fail(at, "\"name\" must be a string or null") }
                let name = try s.string()
                if name.isEmpty { break }
                if let p = nameProblem(name) { throw fail(at, "\"name\": \(p)") }
                n.name = name
            case .names:
                try s.beginArray("\"names\"")
                var f = true
                var all: [String] = []
                while try s.nextElement(&f) {
                    let p = s.offset
                    guard try s.kind() == .string else { throw fail(p, "\"names\" must hold strings") }
                    let name = try s.string()
                    if let problem = nameProblem(name) { throw fail(p, "\"names\": \(problem)") }
                    guard all.count < 64 else { throw fail(p, "\"names\" holds more than 64 names") }
                    all.append(name)
                }
                if !all.isEmpty { n.name = all[0]; n.extra.aliases = Array(all.dropFirst()) }
            case .op:
                if try s.null() { break }
                guard try s.kind() == .string else { throw fail(at, "\"op\" must be a string") }
                n.op = try s.string()
                guard n.op.utf8.count <= 64 else { throw fail(at, "\"op\" is \(n.op.utf8.count) bytes long; op names are short (\"matmul\")") }
            case .inputs:
                if try s.null() { break }
                try s.beginArray("\"inputs\"")
                var f = true
                while try s.nextElement(&f) {
                    let p = s.offset
                    guard try s.kind() == .number else { throw fail(p, "\"inputs\" must hold node ids (whole numbers)") }
                    let d = try s.number()
                    guard d == d.rounded(), Swift.abs(d) < 9e15 else { throw fail(p, "\"inputs\" must hold node ids (whole numbers), found \(s.text(from: p).trimmingBlanks)") }
                    guard n.inputs.count < 8 else { throw fail(p, "\"inputs\" holds more than 8 ids") }
                    n.inputs.append(Int(d))
                }
            case .value:
                if try s.null() { break }
                valueAt = at
                let k = try s.kind()
                if k == .number {
                    let d = try s.number()
                    guard d.isFinite else { throw fail(at, "\"value\" \(s.text(from: at).trimmingBlanks) is out of range for a double (magnitude above 1.8e308; write \"inf\" for infinity)") }
                    n.scalar = d
                    break
                }
                let v = try tensor(&s, what: (sawID ? n.label : "nodes[\(index)]") + ": \"value\"", integer: false)
                if k == .object { n.isTensor = true; n.extra.tensor = v } else { n.scalar = v.scalar }
            case .shape:
                n.isTensor = true
                n.extra.shape = try shapeArray(&s, what: (sawID ? n.label : "nodes[\(index)]") + ": \"shape\"")
            case .role:
                guard try s.kind() == .string else { throw fail(at, "\"role\" must be a string: parameter, input, labels or const") }
                let r = try s.string()
                guard ["parameter", "input", "labels", "const"].contains(r) else {
                    throw fail(at, "unknown \"role\" \"\(r.escapedForMessage)\": parameter, input, labels or const")
                }
                n.extra.role = r
            case .dtype:
                guard try s.kind() == .string else { throw fail(at, "\"dtype\" must be a string: float or int") }
                let d = try s.string()
                guard d == "float" || d == "int" else { throw fail(at, "unknown \"dtype\" \"\(d.escapedForMessage)\": float or int") }
                n.extra.dtype = d
            case .module:
                if try s.null() { break }
                guard try s.kind() == .string else { throw fail(at, "\"module\" must be a dotted name (a string)") }
                let m = try s.string()
                if let p = nameProblem(m) { throw fail(at, "\"module\": \(p)") }
                n.extra.module = m
            case .grad:
                try s.skipValue()
            case .other:
                let key = s.keyText(raw)
                if TensorOp.jsonOptionKeys.contains(key) {
                    pending.append((key, at, try option(&s, key: key, node: sawID ? n.label : "nodes[\(index)]")))
                } else {
                    try s.skipValue()  // grad, nonfinite, label, …: not needed to build the graph
                }
            }
        }
        guard sawID else { throw s.error(at: open, "nodes[\(index)] has no \"id\" (a whole number that inputs refer to)") }
        for p in pending { n.extra.options[p.key] = p.value }
        if ops.isTensor(n.op) { n.isTensor = true }
        if let m = n.more, m.options.keys.contains(where: { $0 != "exponent" }) { n.isTensor = true }
        if n.dtype == "int" || n.role == "labels", let v = n.value, let bad = v.data.first(where: { $0 != $0.rounded() }) {
            throw s.error(at: valueAt, "\(n.label): \"value\" holds \(NumberFormat.exact(bad)), but an integer tensor (dtype int, role labels) holds whole numbers")
        }
        return n
    }

    /// The keys of a node the reader knows, told from their bytes without building a String.
    enum NodeKey {
        case id, name, names, op, inputs, value, grad, shape, role, dtype, module, other

        init(_ r: Range<Int>, _ bytes: UnsafeBufferPointer<UInt8>) {
            func matches(_ word: StaticString) -> Bool {
                guard r.count == word.utf8CodeUnitCount else { return false }
                let w = word.utf8Start
                for k in 0..<r.count where bytes[r.lowerBound + k] != w[k] { return false }
                return true
            }
            if matches("id") { self = .id }
            else if matches("op") { self = .op }
            else if matches("name") { self = .name }
            else if matches("inputs") { self = .inputs }
            else if matches("value") { self = .value }
            else if matches("grad") { self = .grad }
            else if matches("shape") { self = .shape }
            else if matches("names") { self = .names }
            else if matches("role") { self = .role }
            else if matches("dtype") { self = .dtype }
            else if matches("module") { self = .module }
            else { self = .other }
        }
    }

    /// Ops the scalar reader knows (GradTrace's names and micrograd's).
    static func isScalarOp(_ op: String) -> Bool {
        switch op {
        case "input", "", "leaf", "const", "constant", "add", "+", "sub", "-", "mul", "*", "div", "/", "neg", "ReLU", "pow", "**", "^":
            return true
        default:
            return Op.namedFunctions.contains { $0.name == op } || op.hasPrefix("**") || op.hasPrefix("^")
        }
    }

    static func option(_ s: inout JSONScanner, key: String, node: String) throws(GraphJSONError) -> TensorOp.JSONOption {
        let at = s.offset
        func fail(_ p: Int, _ message: String) -> GraphJSONError { s.error(at: p, node + ": " + message) }
        switch try s.kind() {
        case .number:
            let d = try s.number()
            guard d.isFinite else { throw fail(at, "\"\(key)\" \(s.text(from: at).trimmingBlanks) is out of range") }
            return .number(d)
        case .string: return .string(try s.string())
        case .bool: return .bool(try s.bool())
        case .array:
            // Numbers, or (for "slices") numbers and arrays of numbers: two levels at most.
            try s.beginArray("\"\(key)\"")
            var f = true
            var items: [TensorOp.JSONOption] = []
            func scalar() throws(GraphJSONError) -> Double {
                let p = s.offset
                guard try s.kind() == .number else { throw fail(p, "\"\(key)\" must hold numbers") }
                let d = try s.number()
                guard d.isFinite else { throw fail(p, "\"\(key)\" holds \(s.text(from: p).trimmingBlanks), out of range") }
                return d
            }
            while try s.nextElement(&f) {
                guard items.count < 16 else { throw fail(s.offset, "\"\(key)\" holds more than 16 items") }
                if try s.kind() == .array {
                    try s.beginArray("an item of \"\(key)\"")
                    var g = true
                    var row: [Double] = []
                    while try s.nextElement(&g) {
                        guard row.count < 16 else { throw fail(s.offset, "\"\(key)\" holds a row of more than 16 numbers") }
                        row.append(try scalar())
                    }
                    items.append(.numbers(row))
                } else {
                    items.append(.number(try scalar()))
                }
            }
            let flat = items.compactMap { item -> Double? in if case .number(let d) = item { return d } else { return nil } }
            return flat.count == items.count ? .numbers(flat) : .list(items)
        case let k: throw fail(at, "\"\(key)\" must be a number or an array of numbers, not \(k.described)")
        }
    }

    /// `[2, 3]`: sizes 0…2²⁴, rank ≤ 4.
    static func shapeArray(_ s: inout JSONScanner, what: String) throws(GraphJSONError) -> [Int] {
        try s.beginArray(what)
        var f = true
        var shape: [Int] = []
        while try s.nextElement(&f) {
            let p = s.offset
            guard try s.kind() == .number else { throw s.error(at: p, "\(what) must hold sizes (whole numbers)") }
            let d = try s.number()
            guard d == d.rounded(), d >= 1, d <= Double(Tensor.maxElements) else {
                throw s.error(at: p, "\(what): size \(s.text(from: p).trimmingBlanks) is not a whole number 1…\(Tensor.maxElements)")
            }
            guard shape.count < Tensor.maxRank else { throw s.error(at: p, "\(what) has more than \(Tensor.maxRank) sizes; tensors have rank 4 at most") }
            shape.append(Int(d))
        }
        return shape
    }

    /// A number, `"nan"`/`"inf"`/`"-inf"`, or `{"shape": […], "data": nested rows}`; `what` names it in messages.
    static func tensor(_ s: inout JSONScanner, what: String, integer: Bool) throws(GraphJSONError) -> Tensor {
        let at = s.offset
        switch try s.kind() {
        case .number, .string:
            return Tensor(try element(&s, what: what))
        case .object:
            try s.beginObject(what)
            var f = true
            var shape: [Int]?
            var data: (values: [Double], shape: [Int])?
            var dataAt = at
            while let key = try s.nextKey(&f) {
                switch key {
                case "shape": shape = try shapeArray(&s, what: "\(what): \"shape\"")
                case "data":
                    dataAt = s.offset
                    data = try nested(&s, what: what)
                default: try s.skipValue()
                }
            }
            guard let shape else { throw s.error(at: at, "\(what) needs \"shape\" (as [2, 3]) beside \"data\"") }
            guard let data else { throw s.error(at: at, "\(what) needs \"data\": the elements in nested rows") }
            let expected = shape.reduce(1) { a, d in let (p, o) = a.multipliedReportingOverflow(by: d); return o ? Int.max : p }
            guard expected <= Tensor.maxElements else {
                throw s.error(at: at, "\(what): shape \(Tensor.text(shape: shape)) has more than \(Tensor.maxElements) elements")
            }
            // A scalar is written as a plain number; [] with one datum is accepted too.
            if shape.isEmpty && data.values.count == 1 { return Tensor(data.values[0]) }
            guard data.shape == shape else {
                throw s.error(at: dataAt, "\(what): \"shape\" says \(Tensor.text(shape: shape)), but \"data\" holds rows of shape \(Tensor.text(shape: data.shape))")
            }
            return Tensor(shape: shape, data: data.values)
        case let k:
            throw s.error(at: at, "\(what) must be a number or {\"shape\", \"data\"}, not \(k.described)")
        }
    }

    /// A number, or the strings `trace --json` writes for non-finite values; an overflowing literal is named.
    static func element(_ s: inout JSONScanner, what: String) throws(GraphJSONError) -> Double {
        let at = s.offset
        if try s.kind() == .string {
            let t = try s.string()
            switch t {
            case "nan": return .nan
            case "inf": return .infinity
            case "-inf": return -.infinity
            default: throw s.error(at: at, "\(what) \"\(t.escapedForMessage)\" is not a number (non-finite values are written \"nan\", \"inf\", \"-inf\")")
            }
        }
        guard try s.kind() == .number else { throw s.error(at: at, "\(what) must be a number, not \(try s.kind().described)") }
        let d = try s.number()
        guard d.isFinite else {
            throw s.error(at: at, "\(what) \(s.text(from: at).trimmingBlanks) is out of range for a double (magnitude above 1.8e308; write \"inf\" for infinity)")
        }
        return d
    }

    /// Nested rows, iteratively: the elements row-major and the shape they make; ragged rows are refused.
    static func nested(_ s: inout JSONScanner, what: String) throws(GraphJSONError) -> (values: [Double], shape: [Int]) {
        if try s.kind() != .array { return ([try element(&s, what: "\(what): \"data\"")], []) }
        var values: [Double] = []
        var shape: [Int] = []          // sizes found so far, outermost first
        var counts: [Int] = []         // elements seen in each open row
        var firsts: [Bool] = []
        var leafDepth = -1             // the depth of numbers (all rows must agree)
        try s.beginArray("\(what): \"data\"")
        counts.append(0); firsts.append(true)
        while !counts.isEmpty {
            let d = counts.count - 1
            if try s.nextElement(&firsts[d]) {
                counts[d] += 1
                if try s.kind() == .array {
                    guard leafDepth < 0 || d + 1 < leafDepth, counts.count < Tensor.maxRank else {
                        throw s.error(at: s.offset, "\(what): \"data\" rows nested deeper than the shape (rank 4 at most)")
                    }
                    try s.beginArray("a row")
                    counts.append(0); firsts.append(true)
                } else {
                    if leafDepth < 0 { leafDepth = d + 1 }
                    guard leafDepth == d + 1 else { throw s.error(at: s.offset, "\(what): ragged \"data\": a number where a row '[…]' belongs") }
                    guard values.count < Tensor.maxElements else { throw s.error(at: s.offset, "\(what): more than \(Tensor.maxElements) elements") }
                    values.append(try element(&s, what: "\(what): \"data\""))
                }
            } else {
                // A row closed: its length is the size of axis d.
                let n = counts.removeLast()
                firsts.removeLast()
                if leafDepth >= 0 && d + 1 < leafDepth && n == 0 { throw s.error(at: s.offset - 1, "\(what): an empty row in \"data\"") }
                if shape.count <= d {
                    while shape.count < d { shape.append(-1) }
                    shape.append(n)
                } else if shape[d] == -1 {
                    shape[d] = n
                } else if shape[d] != n {
                    throw s.error(at: s.offset - 1, "\(what): ragged \"data\": a row of \(n) where the others have \(shape[d])")
                }
                if n == 0 { throw s.error(at: s.offset - 1, "\(what): an empty row '[]' in \"data\"") }
            }
        }
        return (values, shape)
    }

    /// Why a name from a file cannot be used, or nil: names are shown in terminals, pictures and
    /// `--at`, so control characters, invisible or text-reordering characters and odd spaces are refused
    /// (printable punctuation such as micrograd's `x1*w1` is kept).
    public static func nameProblem(_ name: String) -> String? {
        if name.utf8.count > maxNameBytes { return "a name of \(name.utf8.count) bytes (at most \(maxNameBytes))" }
        if name.utf8.allSatisfy({ $0 >= 32 && $0 < 127 }) { return nil }  // printable ASCII: the common case
        for u in name.unicodeScalars {
            let bad: Bool
            switch u.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse: bad = true
            case .spaceSeparator: bad = u != " "
            default: bad = false
            }
            if bad {
                let hex = String(u.value, radix: 16, uppercase: true)
                let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                let what = u.properties.name.map { "\(code) \($0)" } ?? code
                return "the name '\(name.escapedForMessage)' contains \(what), an invisible, control or text-reordering character"
            }
        }
        return nil
    }

    // MARK: building

    /// Positions in `nodes` in an order where inputs come first (a graph already in order keeps it).
    static func topologicalOrder(_ nodes: [Node], position: IDPositions, file: String) throws(GraphJSONError) -> [Int] {
        switch TopologicalOrder.sort(count: nodes.count, position: position, inputs: { nodes[$0].inputs }) {
        case .order(let order): return order
        case .cycle(let node, let through):
            throw GraphJSONError.node(file: file, node: nodes[node].label, message: "it is part of a cycle (through \(nodes[through].label))")
        }
    }

    static func buildTensor(_ doc: Document, file: String, values overrides: [String: Tensor], result: String?) throws -> Program {
        let nodes = doc.nodes
        func fail(_ n: Node, _ message: String) -> GraphJSONError { .node(file: file, node: n.label, message: message) }
        var position = IDPositions(count: nodes.count)
        for (i, n) in nodes.enumerated() where !position.insert(n.id, at: i) {
            throw GraphJSONError.graph(file: file, message: "node id \(n.id) appears twice")
        }
        for n in nodes {
            guard let arity = TensorOp.jsonArity[n.op] else {
                let hint = isScalarOp(n.op) ? " (micrograd's op names are for scalar graphs; a tensor graph uses GradTrace's: add, mul, pow, relu …)" : ""
                throw fail(n, "unknown op '\(n.op.escapedForMessage)'\(hint); known: " + TensorOp.jsonArity.keys.sorted().joined(separator: ", "))
            }
            guard arity.contains(n.inputs.count) else {
                let want = arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) or \(arity.upperBound)"
                throw fail(n, "'\(n.op)' takes \(want) input\(arity.upperBound == 1 ? "" : "s"), but \(n.inputs.count) \(n.inputs.count == 1 ? "is" : "are") given")
            }
            for i in n.inputs where position[i] == nil { throw fail(n, "input \(i) is not the id of any node") }
            if n.role == "parameter" && n.op != "input" { throw fail(n, "a parameter is an \"input\" leaf, not '\(n.op)'") }
        }
        let order = try topologicalOrder(nodes, position: position, file: file)
        var graph = TensorGraph()
        var newID = [Int](repeating: -1, count: nodes.count)
        var inputNames: Set<String> = []
        var known: [String] = []
        var used: Set<String> = []
        for i in order {
            let n = nodes[i]
            let id: NodeID
            if n.op == "input" || n.op == "const" {
                guard var v = n.value else { throw fail(n, "a leaf needs a \"value\": a number or {\"shape\", \"data\"}") }
                if let s = n.shape, s != v.shape {
                    throw fail(n, "\"shape\" says \(Tensor.text(shape: s)), but its \"value\" has shape \(v.shapeText)")
                }
                if n.op == "input" {
                    let name = n.names.first ?? "v\(n.id)"
                    guard inputNames.insert(name).inserted else { throw fail(n, "a second input named '\(name)' (input names must be unique)") }
                    known.append(name)
                    if let o = overrides[name] {
                        guard o.shape == v.shape else { throw Program.Problem.wrongShape(name: name, given: o.shapeText, expected: v.shapeText) }
                        v = o
                        used.insert(name)
                    }
                    id = graph.addInput(name, v)
                    for extra in n.names.dropFirst() { graph.setName(extra, for: id) }
                } else {
                    id = graph.addConstant(v)
                    for name in n.names { graph.setName(name, for: id) }
                }
            } else {
                let ins = n.inputs.map { newID[position[$0]!] }
                let op: TensorOp
                do {
                    op = try TensorOp.json(name: n.op, options: n.options, operands: ins.map { graph[$0].value.shape })
                    id = try graph.add(op, inputs: ins)
                } catch {
                    throw fail(n, error.message)
                }
                if let s = n.shape, s != graph[id].value.shape {
                    let from = ins.map { graph[$0].value.shapeText }.joined(separator: " and ")
                    throw fail(n, "\"shape\" says \(Tensor.text(shape: s)), but '\(n.op)' of \(from) gives \(graph[id].value.shapeText)")
                }
                for name in n.names { graph.setName(name, for: id) }
            }
            newID[i] = id
        }
        for name in overrides.keys.sorted() where !used.contains(name) { throw Program.Problem.unknownInput(name, known: known) }
        // The result.
        let out: NodeID
        var outName: String?
        if let result {
            guard let id = graph.nameIndex.lookup(result) else {
                throw Program.Problem.unknownOutput(result, known: graph.namedIDs.compactMap { graph.name(of: $0) })
            }
            out = id
            outName = result
        } else {
            switch doc.output {
            case .id(let id)?:
                guard let p = position[id] else { throw GraphJSONError.graph(file: file, message: "\"output\": \(id) is not the id of any node") }
                out = newID[p]
            case .name(let name)?:
                guard let id = graph.nameIndex.lookup(name) else { throw GraphJSONError.graph(file: file, message: "\"output\": no node is named '\(name.escapedForMessage)'") }
                out = id
                outName = name
            case nil:
                var consumed = [Bool](repeating: false, count: nodes.count)
                for n in nodes { for i in n.inputs { consumed[position[i]!] = true } }
                out = newID[nodes.indices.last { !consumed[$0] } ?? nodes.count - 1]
            }
        }
        let value = graph[out].value
        guard value.count == 1 else {
            throw GraphJSONError.graph(file: file, message: "the result (node \(out)) has shape \(value.shapeText); gradients start from a single number: end the graph with a sum or a mean")
        }
        var bindings: [(name: String, node: NodeID)] = []
        var slot: [String: Int] = [:]
        for id in 0..<graph.count {
            for name in graph.names(of: id) {
                if let k = slot[name] { bindings[k].node = id } else { slot[name] = bindings.count; bindings.append((name, id)) }
            }
        }
        let name = outName ?? graph.name(of: out) ?? "v\(out)"
        let t = TensorProgram(graph: graph, output: out, outputName: name, bindings: bindings, seed: 0)
        return Program(graph: Graph(), output: out, outputName: name, bindings: bindings, tensor: t)
    }
}

extension String {
    /// The string with control, format and non-ASCII characters written as `\u{…}`, safe to print in a message.
    var escapedForMessage: String {
        var out = ""
        for u in unicodeScalars.prefix(80) {
            switch u.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse:
                out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
            case .spaceSeparator where u != " ":
                out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(u)
            }
        }
        return unicodeScalars.count > 80 ? out + "…" : out
    }

    var trimmingBlanks: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeFirst() }
        return String(s)
    }
}
