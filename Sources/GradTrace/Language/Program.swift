/// A parsed program: its graph with forward values, and the node it computes.
///
/// ```swift
/// let p = try Program.parse("x = 2\nw = 3\nu = w * x\nL = (u^2 - 10)^2\n")
/// p.graph[p.output].value                                      // 676
/// Trace(graph: p.graph, output: p.output).gradients[p.graph.input(named: "w")!]   // 1248
/// ```
public struct Program: Sendable {
    /// The recorded scalar graph (empty for a tensor program: its graph is `tensor.graph`; ``structure``
    /// is either).
    public var graph: Graph
    /// The result node: the last assignment, or the one `output:` named.
    public var output: NodeID
    /// The name the result was picked by.
    public var outputName: String
    /// Every name and the node it is bound to at the end of the program, in order of first binding.
    public var bindings: [(name: String, node: NodeID)]
    /// The tensor program, when the text uses tensors (literals `[…]`, `@`, tensor functions).
    public var tensor: TensorProgram?
    /// A framework's own gradients read with a graph file (`"reference": {"grads": …}`), for `gradtrace check`.
    public var reference: ReferenceGradients?

    init(graph: Graph, output: NodeID, outputName: String, bindings: [(name: String, node: NodeID)], tensor: TensorProgram? = nil) {
        self.graph = graph
        self.output = output
        self.outputName = outputName
        self.bindings = bindings
        self.tensor = tensor
    }

    /// True for a tensor program.
    public var isTensor: Bool { tensor != nil }

    /// The structure of the program's real graph, whichever engine recorded it: the scalar graph or the
    /// tensor graph (names, operands, leaves), for what only needs structure (the size guard, grouping).
    public var structure: any GraphStructure { tensor.map { $0.graph } ?? graph }

    /// Problems that are not the user's program text: bad `--at` or `--result` names, bad values.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownInput(String, known: [String])
        case unknownOutput(String, known: [String])
        case notUTF8(file: String, line: Int)
        /// `--at NAME=[…]` whose shape differs from the input's.
        case wrongShape(name: String, given: String, expected: String)

        public var description: String {
            switch self {
            case .unknownInput(let n, let known):
                return "unknown input '\(n)' in --at: the program's inputs are " + Program.list(known)
            case .unknownOutput(let n, let known):
                return "unknown name '\(n)' in --result: the program defines " + Program.list(known)
            case .wrongShape(let n, let given, let expected):
                return "--at \(n): a value of shape \(given), but '\(n)' has shape \(expected): give a value of shape \(expected)"
            case .notUTF8(let file, let line):
                return "\(file):\(line):1: error: the input is not UTF-8 text (is it a binary file?)"
            }
        }
    }

    static func list(_ names: [String]) -> String {
        names.isEmpty ? "none" : names.map { "'\($0)'" }.joined(separator: ", ")
    }

    /// Parses and evaluates program text.
    ///
    /// - Parameters:
    ///   - source: the program.
    ///   - file: the name used in diagnostics (a path, `<stdin>` or `<expr>`).
    ///   - inputs: values that override the program's own input values (`--at`); every name must be an input.
    ///   - output: the name whose node is the result; default, the last assignment.
    /// - Throws: ``Diagnostic`` for errors in the text, ``Problem`` for bad names in `inputs` or `output`.
    /// - Complexity: O(length of the source); no recursion, so any nesting depth is fine.
    public static func parse(_ source: String, file: String = "<expr>", inputs: [String: Double] = [:],
                             output: String? = nil) throws -> Program {
        try parse(bytes: Array(source.utf8), file: file, inputs: inputs, output: output)
    }

    /// Parses program bytes (which must be UTF-8); see ``parse(_:file:inputs:output:)``.
    public static func parse(bytes: [UInt8], file: String = "<expr>", inputs: [String: Double] = [:],
                             output: String? = nil) throws -> Program {
        try parse(bytes: bytes, file: file, values: inputs.mapValues { Tensor($0) }, output: output)
    }

    /// Parses program bytes, scalar or tensor; `values` override inputs (a tensor input's value must
    /// have its shape), `seed` seeds `randn`, `memoryBudget` bounds what a tensor program may hold (bytes;
    /// see ``TensorGraph/memoryBudget``). One parse; the engine is chosen from the parsed program: one
    /// that uses no tensor syntax, with scalar values, runs on the scalar engine as before.
    public static func parse(bytes: [UInt8], file: String = "<expr>", values: [String: Tensor], output: String? = nil,
                             seed: UInt64 = 0, memoryBudget: Int = TensorGraph.defaultMemoryBudget) throws -> Program {
        if let badLine = firstInvalidUTF8Line(bytes) { throw Problem.notUTF8(file: file, line: badLine) }
        // A UTF-8 byte-order mark (as some editors write) is not part of the first name.
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        // One parse; the engine is chosen from what was parsed: all-scalar programs (and scalar values)
        // keep the scalar fast path, anything with a tensor construct runs on the tensor engine.
        let lexer = Lexer(bytes: body, file: file)
        var parser = Parser(lexer: lexer)
        let syntax = parser.run()
        if !syntax.usesTensors && values.values.allSatisfy(\.isScalar) {
            var lowering = ScalarLowering(syntax: syntax, lexer: lexer, overrides: values.mapValues(\.scalar))
            return try lowering.run(outputName: output)
        }
        var lowering = TensorLowering(syntax: syntax, lexer: lexer, overrides: values, seed: seed, memoryBudget: memoryBudget)
        let t = try lowering.run(outputName: output)
        return Program(graph: Graph(), output: t.output, outputName: t.outputName, bindings: t.bindings, tensor: t)
    }

    /// The 1-based line of the first byte sequence that is not UTF-8, or nil when all is well.
    static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { p -> Int? in
            var line = 1
            var i = 0
            let n = p.count
            while i < n {
                let b = p[i]
                if b < 0x80 {
                    if b == 10 { line += 1 }
                    i += 1
                    continue
                }
                guard let len = UTF8Validation.sequenceLength(p, at: i, end: n) else { return line }
                i += len
            }
            return nil
        }
    }
}

/// Builds the scalar graph of a parsed all-scalar program (the fast path: one walk over the postfix
/// nodes with an operand stack, one graph node per operation, literals folded as before).
struct ScalarLowering {
    let syntax: Syntax
    let lexer: Lexer
    var graph = Graph()
    let overrides: [String: Double]
    var usedOverrides: Set<String> = []
    /// The node each name id is bound to (-1: not yet).
    var scope: [NodeID]
    /// Where each input was defined (the name's byte offset), to refuse a second definition.
    var inputOffsets: [Int32]

    init(syntax: Syntax, lexer: Lexer, overrides: [String: Double]) {
        self.syntax = syntax
        self.lexer = lexer
        self.overrides = overrides
        scope = [NodeID](repeating: -1, count: syntax.names.count)
        inputOffsets = [Int32](repeating: -1, count: syntax.names.count)
    }

    enum Operand {
        case node(NodeID)
        case literal(Double)
    }

    mutating func materialize(_ o: Operand) -> NodeID {
        switch o {
        case .node(let id): return id
        case .literal(let v): return graph.addConstant(v)
        }
    }

    mutating func run(outputName: String?) throws -> Program {
        var operands: [Operand] = []
        var k = 0
        var order: [Int32] = []
        for st in syntax.statements {
            operands.removeAll(keepingCapacity: true)
            evaluate(&k, to: Int(st.end), &operands)
            let value = operands.removeLast()
            let name = syntax.names[Int(st.name)]
            switch value {
            case .literal(let v) where st.compound == 0:
                if inputOffsets[Int(st.name)] >= 0 {
                    let line = lexer.diagnostic(atOffset: Int(inputOffsets[Int(st.name)]), "").line
                    throw lexer.diagnostic(atOffset: Int(st.nameOffset), "input '\(name)' is already defined on line \(line); use --at \(name)=VALUE to change its value")
                }
                var x = v
                if let o = overrides[name] { x = o; usedOverrides.insert(name) }
                let id = graph.addInput(name, x)
                inputOffsets[Int(st.name)] = st.nameOffset
                if scope[Int(st.name)] < 0 { order.append(st.name) }
                scope[Int(st.name)] = id
            default:
                var id = materialize(value)
                if st.compound != 0 {
                    let current = scope[Int(st.name)]
                    let c = Character(Unicode.Scalar(st.compound))
                    let opKind: Op = c == "+" ? .add : c == "-" ? .sub : c == "*" ? .mul : .div
                    id = graph.add(opKind, current, id, name: name)
                } else {
                    // A new node takes the name; `u = z` gives an existing node a second name.
                    graph.setName(name, for: id)
                }
                if scope[Int(st.name)] < 0 { order.append(st.name) }
                scope[Int(st.name)] = id
            }
        }
        if let failure = syntax.failure {
            // The part of the failing statement read before the error builds nothing that can fail here.
            throw failure
        }
        let unknown = overrides.keys.filter { !usedOverrides.contains($0) }.sorted()
        if let u = unknown.first {
            throw Program.Problem.unknownInput(u, known: graph.inputIDs.compactMap { graph.name(of: $0) })
        }
        let last = syntax.names[Int(syntax.statements[syntax.statements.count - 1].name)]
        let name = outputName ?? last
        let names = order.map { syntax.names[Int($0)] }
        guard let id = syntax.names.firstIndex(of: name).map({ scope[$0] }), id >= 0 else {
            throw Program.Problem.unknownOutput(name, known: names)
        }
        return Program(graph: graph, output: id, outputName: name,
                       bindings: order.map { (syntax.names[Int($0)], scope[Int($0)]) })
    }

    /// Runs the nodes `k..<end` of one statement, leaving its value on `operands`.
    mutating func evaluate(_ k: inout Int, to end: Int, _ operands: inout [Operand]) {
        let nodes = syntax.nodes
        while k < end {
            switch nodes[k] {
            case .number(let v):
                operands.append(.literal(v))
            case .name(let id):
                operands.append(.node(scope[Int(id)]))
            case .negate:
                let x = operands.removeLast()
                if case .literal(let v) = x { operands.append(.literal(-v)) }
                else { operands.append(.node(graph.add(.neg, materialize(x)))) }
            case .binary(let o):
                let rhs = operands.removeLast()
                let lhs = operands.removeLast()
                if o == .pow, case .literal(let c) = rhs {
                    operands.append(.node(graph.add(.powConst(c), materialize(lhs))))
                } else {
                    let a = materialize(lhs)
                    let b = materialize(rhs)
                    operands.append(.node(graph.add(o.op!, a, b)))
                }
            case .call(let f, let n):
                let name = syntax.names[Int(f)]
                if name == "pow" {
                    // pow(a, b) is always a·b-style two-input node (use a^2 for a constant exponent).
                    let b = materialize(operands.removeLast())
                    let a = materialize(operands.removeLast())
                    operands.append(.node(graph.add(.pow, a, b)))
                } else {
                    let op = Op.namedFunctions.first { $0.name == name }!.op
                    precondition(n == 1)
                    let x = materialize(operands.removeLast())
                    operands.append(.node(graph.add(op, x)))
                }
            case .argument:
                break
            case .tensor, .bound, .item, .subscriptAccess:
                preconditionFailure("a tensor construct in a scalar program")
            }
            k += 1
        }
    }
}
