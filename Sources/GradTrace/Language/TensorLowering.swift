#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parsed tensor program: its graph with forward values and the node it computes.
public struct TensorProgram: Sendable {
    public var graph: TensorGraph
    public var output: NodeID
    public var outputName: String
    public var bindings: [(name: String, node: NodeID)]
    /// The `--seed` the constructors drew from.
    public var seed: UInt64
}

/// Builds the tensor graph of a parsed program (``Syntax``): one walk over the postfix nodes with an
/// operand stack, every shape and option checked as its node is added, errors located at the token the
/// node came from.
struct TensorLowering {
    let syntax: Syntax
    let lexer: Lexer
    var graph = TensorGraph()
    let overrides: [String: Tensor]
    let seed: UInt64
    var usedOverrides: Set<String> = []
    /// The node each name id is bound to (-1: not yet), names in order of first binding, and where
    /// each input was defined and each name last bound (byte offsets).
    var scope: [NodeID]
    var order: [Int32] = []
    var inputOffsets: [Int32]
    var bindOffsets: [Int32]
    /// The statement being lowered (seeds `randn` and `dropout`).
    var statementName = ""
    var draws = 0

    init(syntax: Syntax, lexer: Lexer, overrides: [String: Tensor], seed: UInt64, memoryBudget: Int = TensorGraph.defaultMemoryBudget) {
        self.graph = TensorGraph(memoryBudget: memoryBudget)
        self.syntax = syntax
        self.lexer = lexer
        self.overrides = overrides
        self.seed = seed
        scope = [NodeID](repeating: -1, count: syntax.names.count)
        inputOffsets = [Int32](repeating: -1, count: syntax.names.count)
        bindOffsets = [Int32](repeating: -1, count: syntax.names.count)
    }

    /// Where a node came from: a byte offset into the program.
    typealias Token = Int

    func error(_ t: Token, _ message: String) -> Diagnostic { lexer.diagnostic(atOffset: t, message) }

    // MARK: program

    mutating func run(outputName: String?) throws -> TensorProgram {
        var stacks = Stacks()
        var k = 0
        for st in syntax.statements {
            statementName = syntax.names[Int(st.name)]
            draws = 0
            stacks.operands.removeAll(keepingCapacity: true)
            try evaluate(&k, to: Int(st.end), &stacks)
            try assign(st, stacks.operands.removeLast())
        }
        if let failure = syntax.failure {
            // The part of the failing statement read before the error runs first: a shape error there
            // comes before the error after it, as in reading order.
            if k < syntax.nodes.count {
                statementName = syntax.names[Int(syntax.failingName)]
                draws = 0
                try evaluate(&k, to: syntax.nodes.count, &stacks)
            }
            throw failure
        }
        let lastStatement = syntax.statements[syntax.statements.count - 1]
        if let u = overrides.keys.filter({ !usedOverrides.contains($0) }).sorted().first {
            throw Program.Problem.unknownInput(u, known: graph.inputIDs.compactMap { graph.name(of: $0) })
        }
        let name = outputName ?? syntax.names[Int(lastStatement.name)]
        let names = order.map { syntax.names[Int($0)] }
        guard let nameID = syntax.names.firstIndex(of: name), scope[nameID] >= 0 else { throw Program.Problem.unknownOutput(name, known: names) }
        let out = scope[nameID]
        let shape = graph[out].value.shape
        if graph[out].value.count != 1 {
            let at = Int(bindOffsets[nameID] >= 0 ? bindOffsets[nameID] : lastStatement.nameOffset)
            throw error(at, "the result '\(name)' has shape \(Tensor.text(shape: shape)); gradients start from a single number: reduce it, as in 'L = sum(\(name))'")
        }
        return TensorProgram(graph: graph, output: out, outputName: name, bindings: order.map { (syntax.names[Int($0)], scope[Int($0)]) }, seed: seed)
    }

    /// The operand stacks of the walk over the postfix nodes.
    struct Stacks {
        var operands: [Operand] = []
        var arguments: [Argument] = []
        var bounds: [(Operand, Token)] = []
        var items: [IndexItem] = []
    }

    /// Runs the nodes `k..<end` (one statement, or the part of one read before a syntax error), leaving
    /// its value on the operand stack.
    mutating func evaluate(_ k: inout Int, to end: Int, _ stacks: inout Stacks) throws {
        let nodes = syntax.nodes
        while k < end {
            let at = Int(syntax.offsets[k])
            switch nodes[k] {
            case .number(let v):
                stacks.operands.append(.literal(Tensor(v), at))
            case .tensor(let i):
                stacks.operands.append(.literal(try Parser.literalValue(lexer.bytes, file: lexer.file, at: syntax.literals[Int(i)]), at))
            case .name(let id):
                stacks.operands.append(.node(scope[Int(id)]))
            case .negate:
                let x = stacks.operands.removeLast()
                if case .literal(let v, let tok) = x { stacks.operands.append(.literal(v.map { -$0 }, tok)) }
                else { stacks.operands.append(.node(try add(.elementwise(.neg), materialize(x), at: at))) }
            case .binary(let o):
                let rhs = stacks.operands.removeLast()
                let lhs = stacks.operands.removeLast()
                if let c = o.comparison {
                    let index = TensorFunctions.indexOf[c]!
                    let a = materialize(lhs), b = materialize(rhs)
                    stacks.operands.append(.node(try add(.call(TensorCall(index: index, arity: 2, options: [])), inputs: [a, b], at: at)))
                } else if o == .matmul {
                    let a = materialize(lhs), b = materialize(rhs)
                    stacks.operands.append(.node(try add(.matmul, a, b, at: at)))
                } else if o == .pow, case .literal(let c, _) = rhs, c.isScalar {
                    stacks.operands.append(.node(try add(.elementwise(.powConst(c.scalar)), materialize(lhs), at: at)))
                } else {
                    stacks.operands.append(try binary(o.op!, lhs, rhs, at: at))
                }
            case .argument(let kw):
                stacks.arguments.append(Argument(operand: stacks.operands.removeLast(), token: at, keyword: kw < 0 ? nil : syntax.names[Int(kw)]))
            case .call(let f, let n):
                let args = Array(stacks.arguments.suffix(Int(n)))
                stacks.arguments.removeLast(Int(n))
                stacks.operands.append(try call(syntax.names[Int(f)], at: at, args))
            case .bound:
                stacks.bounds.append((stacks.operands.removeLast(), at))
            case .item(let mask):
                stacks.items.append(try item(mask, at: at, &stacks.bounds))
            case .subscriptAccess(let n):
                let its = Array(stacks.items.suffix(Int(n)))
                stacks.items.removeLast(Int(n))
                let x = stacks.operands.removeLast()
                stacks.operands.append(try subscriptAccess(x, its, at: at))
            }
            k += 1
        }
    }

    /// Binds a statement's value: a literal or a constructor's result alone is an input (its value replaced by
    /// `--at`), anything else names its node.
    mutating func assign(_ st: Syntax.Statement, _ value: Operand) throws {
        let id = Int(st.name)
        let name = syntax.names[id]
        let nameToken = Int(st.nameOffset)
        switch value {
        case .literal(let v, _) where st.compound == 0, .constructed(let v, _) where st.compound == 0:
            if inputOffsets[id] >= 0 {
                let line = lexer.diagnostic(atOffset: Int(inputOffsets[id]), "").line
                throw error(nameToken, "input '\(name)' is already defined on line \(line); use --at \(name)=VALUE to change its value")
            }
            var x = v
            if let o = overrides[name] {
                guard o.shape == v.shape else {
                    throw Program.Problem.wrongShape(name: name, given: o.shapeText, expected: v.shapeText)
                }
                x = o
                usedOverrides.insert(name)
            }
            let node = graph.addInput(name, x)
            inputOffsets[id] = st.nameOffset
            bind(id, node, st.nameOffset)
        default:
            var node = materialize(value)
            if st.compound != 0 {
                let c = Character(Unicode.Scalar(st.compound))
                let o: Op = c == "+" ? .add : c == "-" ? .sub : c == "*" ? .mul : .div
                node = try add(.elementwise(o), scope[id], node, at: Int(st.opOffset))
            }
            graph.setName(name, for: node)
            bind(id, node, st.nameOffset)
        }
        do { try graph.checkBudget() } catch { throw self.error(nameToken, error.message) }
    }

    mutating func bind(_ id: Int, _ node: NodeID, _ at: Int32) {
        if scope[id] < 0 { order.append(Int32(id)) }
        scope[id] = node
        bindOffsets[id] = at
    }

    // MARK: expressions

    enum Operand {
        case node(NodeID)
        /// A literal number or tensor (not yet in the graph: a statement of a literal alone makes an input).
        case literal(Tensor, Token)
        /// A constructor's result (`zeros(2, 3)`), likewise.
        case constructed(Tensor, Token)
    }

    mutating func materialize(_ o: Operand) -> NodeID {
        switch o {
        case .node(let id): return id
        case .literal(let v, _), .constructed(let v, _): return graph.addConstant(v)
        }
    }

    mutating func add(_ op: TensorOp, _ a: NodeID, _ b: NodeID = -1, at t: Token) throws(Diagnostic) -> NodeID {
        do {
            return try graph.add(op, a, b)
        } catch {
            throw self.error(t, error.message)
        }
    }

    mutating func add(_ op: TensorOp, inputs: [NodeID], at t: Token) throws(Diagnostic) -> NodeID {
        do {
            return try graph.add(op, inputs: inputs)
        } catch {
            throw self.error(t, error.message)
        }
    }

    mutating func binary(_ op: Op, _ lhs: Operand, _ rhs: Operand, at t: Token) throws(Diagnostic) -> Operand {
        let a = materialize(lhs), b = materialize(rhs)
        return .node(try add(.elementwise(op), a, b, at: t))
    }

    /// One item of `x[…]`: a whole-number index, or a slice `start:stop:step` with any part left out.
    struct IndexItem {
        var token: Token
        var index: Int?
        var start: Int?, stop: Int?, step: Int?
        var isSlice: Bool { index == nil }
    }

    /// An item from its parts (``Syntax/ItemParts``), each a whole-number literal.
    func item(_ mask: UInt8, at t: Token, _ bounds: inout [(Operand, Token)]) throws(Diagnostic) -> IndexItem {
        var parts: [(Operand, Token)?] = [nil, nil, nil]
        for (slot, bit) in [(2, Syntax.ItemParts.step), (1, Syntax.ItemParts.stop), (0, Syntax.ItemParts.start)] where mask & bit != 0 {
            parts[slot] = bounds.removeLast()
        }
        var item = IndexItem(token: t)
        if mask & Syntax.ItemParts.slice == 0 {
            item.index = try integer(parts[0]!, "an index")
            return item
        }
        if let p = parts[0] { item.start = try integer(p, "an index") }
        if let p = parts[1] { item.stop = try integer(p, "a slice bound") }
        if let p = parts[2] { item.step = try integer(p, "a slice bound") }
        return item
    }

    /// `x[items]`: an index (drops axes) or a slice, checked against the shape.
    mutating func subscriptAccess(_ x: Operand, _ items: [IndexItem], at open: Token) throws(Diagnostic) -> Operand {
        let id = materialize(x)
        let shape = graph[id].value.shape
        guard items.count <= shape.count else {
            throw error(open, "\(items.count) indices for shape \(Tensor.text(shape: shape)) of rank \(shape.count)")
        }
        var axes: [SliceAxis] = []
        for (k, item) in items.enumerated() {
            let n = shape[k]
            if let i = item.index {
                let r = i < 0 ? i + n : i
                guard r >= 0 && r < n else {
                    throw error(open, "index \(i) is out of range for axis \(k) of shape \(Tensor.text(shape: shape)) (size \(n): 0…\(n - 1), or −\(n)…−1 from the end)")
                }
                axes.append(SliceAxis(start: r, count: 1, step: 1, drops: true))
                continue
            }
            let step = item.step ?? 1
            guard step >= 1 else { throw error(item.token, "a slice step is 1 or more, got \(step)") }
            let start = item.start.map { $0 < 0 ? $0 + n : $0 } ?? 0, stop = item.stop.map { $0 < 0 ? $0 + n : $0 } ?? n
            let text = "\(item.start.map(String.init) ?? ""):\(item.stop.map(String.init) ?? "")" + (item.step.map { ":\($0)" } ?? "")
            guard start >= 0 && start <= n && stop >= 0 && stop <= n else {
                throw error(item.token, "slice \(text) is out of range for axis \(k) of shape \(Tensor.text(shape: shape)) (size \(n): bounds 0…\(n), or −\(n)…−1 from the end)")
            }
            guard stop > start else {
                throw error(item.token, "slice \(text) of axis \(k) of shape \(Tensor.text(shape: shape)) is empty: tensors hold at least one element")
            }
            axes.append(SliceAxis(start: start, count: (stop - start + step - 1) / step, step: step, drops: false))
        }
        if axes.allSatisfy(\.drops) {
            return .node(try add(.index(axes.map(\.start)), id, at: open))
        }
        return .node(try add(.slice(axes), id, at: open))
    }

    // MARK: calls

    /// An argument of a call: its operand, its first token, and its keyword (`stride=2`) if given by name.
    struct Argument {
        var operand: Operand
        var token: Token
        var keyword: String?
    }

    func integer(_ o: (Operand, Token), _ what: String) throws(Diagnostic) -> Int {
        guard case .literal(let v, _) = o.0, v.isScalar, v.scalar == v.scalar.rounded(), Swift.abs(v.scalar) < 1e9 else {
            throw error(o.1, "expected \(what) (a whole number) here")
        }
        return Int(v.scalar)
    }

    func integer(_ a: Argument, _ what: String) throws(Diagnostic) -> Int { try integer((a.operand, a.token), what) }

    func number(_ a: Argument, _ what: String) throws(Diagnostic) -> Double {
        guard case .literal(let v, _) = a.operand, v.isScalar else { throw error(a.token, "expected \(what) (a number) here") }
        return v.scalar
    }

    func axis(_ a: Argument, shape: [Int], function: String, extra: Int = 0) throws(Diagnostic) -> Int {
        try resolveAxis(try integer(a, "an axis"), at: a.token, shape: shape, function: function, extra: extra)
    }

    func resolveAxis(_ a: Int, at t: Token, shape: [Int], function: String, extra: Int = 0) throws(Diagnostic) -> Int {
        let r = shape.count + extra
        guard r > 0, a >= -r, a < r else {
            let range = r == 0 ? "a scalar has no axes" : "axes 0…\(r - 1), or −\(r)…−1 from the end"
            throw error(t, "axis \(a) is out of range for \(function) of shape \(Tensor.text(shape: shape)) (rank \(r): \(range))")
        }
        return a < 0 ? a + r : a
    }

    func arity(_ name: String, _ args: [Argument], _ range: ClosedRange<Int>, at t: Token, usage: String) throws(Diagnostic) {
        guard range.contains(args.count) else {
            throw error(t, "\(name) takes \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)") argument\(range.upperBound == 1 ? "" : "s") (\(usage)), got \(args.count)")
        }
    }

    /// Built-in functions take `axis` by keyword too; anything else by keyword is refused, naming the usage.
    func positional(_ name: String, _ args: [Argument], usage: String, keys: [String] = []) throws(Diagnostic) -> [Argument] {
        var out = args.filter { $0.keyword == nil }
        for a in args {
            guard let k = a.keyword else { continue }
            guard keys.contains(k) else {
                throw error(a.token, "unknown keyword '\(k)' for \(name): " + (keys.isEmpty ? "it takes no keyword options" : "its keyword is \(keys.joined(separator: ", "))") + " (\(usage))")
            }
            guard out.count == 1 else { throw error(a.token, "\(name) got \(k) twice (\(usage))") }
            out.append(a)
        }
        return out
    }

    mutating func call(_ name: String, at t: Token, _ all: [Argument]) throws(Diagnostic) -> Operand {
        // The operand is materialized before the graph is read: `graph[materialize(…)]` would read the graph
        // as it was before a literal operand was added (an index past its end, found by the fuzzer).
        let matrixTranspose: Bool
        if name == "transpose" && all.count == 1 {
            let id = materializedRank(all[0])
            matrixTranspose = graph[id].value.rank == 2
        } else {
            matrixTranspose = false
        }
        if let index = TensorFunctions.indexOf[name], !matrixTranspose {
            return try callRegistry(index, all, at: t)
        }
        if let op = Op.namedFunctions.first(where: { $0.name == name })?.op {
            let args = try positional(name, all, usage: "\(name)(x)")
            try arity(name, args, 1...1, at: t, usage: "\(name)(x)")
            return .node(try add(.elementwise(op), materialize(args[0].operand), at: t))
        }
        switch name {
        case "pow":
            let args = try positional(name, all, usage: "pow(a, b)")
            try arity(name, args, 2...2, at: t, usage: "pow(a, b)")
            return try binary(.pow, args[0].operand, args[1].operand, at: t)
        case "sum", "mean", "max":
            let args = try positional(name, all, usage: "\(name)(x, axis=None)", keys: ["axis"])
            try arity(name, args, 1...2, at: t, usage: "\(name)(x) or \(name)(x, axis)")
            let x = materialize(args[0].operand)
            let ax = args.count == 2 ? try axis(args[1], shape: graph[x].value.shape, function: name) : nil
            let op: TensorOp = name == "sum" ? .sum(axis: ax) : name == "mean" ? .mean(axis: ax) : .max(axis: ax)
            return .node(try add(op, x, at: t))
        case "logsumexp", "softmax", "log_softmax":
            let args = try positional(name, all, usage: "\(name)(x, axis=-1)", keys: ["axis"])
            try arity(name, args, 1...2, at: t, usage: "\(name)(x, axis)")
            let x = materialize(args[0].operand)
            let shape = graph[x].value.shape
            guard !shape.isEmpty else { throw error(t, "\(name) needs a tensor with an axis, not a scalar") }
            let ax = args.count == 2 ? try axis(args[1], shape: shape, function: name) : shape.count - 1
            let op: TensorOp = name == "logsumexp" ? .logsumexp(axis: ax) : name == "softmax" ? .softmax(axis: ax) : .logSoftmax(axis: ax)
            return .node(try add(op, x, at: t))
        case "transpose":
            return .node(try add(.transpose, materialize(all[0].operand), at: t))
        case "reshape":
            let args = try positional(name, all, usage: "reshape(x, d1, d2, …)")
            try arity(name, args, 2...5, at: t, usage: "reshape(x, d1, d2, …)")
            var dims: [Int] = []
            for a in args.dropFirst() {
                let d = try integer(a, "a size")
                guard d > 0 else { throw error(a.token, "sizes are positive, got \(d)") }
                dims.append(d)
            }
            return .node(try add(.reshape(dims), materialize(args[0].operand), at: t))
        case "pick", "cross_entropy":
            let args = try positional(name, all, usage: "\(name)(x, labels)")
            try arity(name, args, 2...2, at: t, usage: "\(name)(x, labels)")
            let x = materialize(args[0].operand), y = materialize(args[1].operand)
            return .node(try add(name == "pick" ? .pick : .crossEntropy, x, y, at: t))
        case "zeros", "ones", "randn", "arange":
            let usage = name == "arange" ? "arange(n)" : "\(name)(d1, d2, …)"
            let args = try positional(name, all, usage: usage)
            try arity(name, args, name == "arange" ? 1...1 : 1...4, at: t, usage: usage)
            var dims: [Int] = []
            for a in args {
                let d = try integer(a, "a size")
                guard d > 0 && d <= 1 << 24 else { throw error(a.token, "sizes are 1…16777216, got \(d)") }
                dims.append(d)
            }
            let total = Shapes.count(dims)
            guard total <= Tensor.maxElements else { throw error(t, "\(name)(\(dims.map(String.init).joined(separator: ", "))) has \(total) elements; the limit is \(Tensor.maxElements)") }
            switch name {
            case "zeros": return .constructed(Tensor(repeating: 0, shape: dims), t)
            case "ones": return .constructed(Tensor(repeating: 1, shape: dims), t)
            case "arange": return .constructed(Tensor(shape: dims, data: (0..<dims[0]).map(Double.init)), t)
            default:
                draws += 1
                return .constructed(TensorLowering.randn(dims, seed: seed, name: statementName, draw: draws), t)
            }
        default:
            throw error(t, TensorFunctions.unknownFunctionMessage(name))
        }
    }

    /// The node an argument stands for, materialized (to read its rank).
    mutating func materializedRank(_ a: Argument) -> NodeID { materialize(a.operand) }

    /// A call of a registry function: arguments bound to its signature by position and keyword,
    /// defaults filled in, axes resolved, then one node over its tensor operands.
    mutating func callRegistry(_ index: Int, _ args: [Argument], at t: Token) throws(Diagnostic) -> Operand {
        let f = TensorFunctions.table[index]
        let params = f.parameters
        var slots = [[Argument]](repeating: [], count: params.count)
        var cursor = 0
        var sawKeyword = false
        for a in args {
            if let k = a.keyword {
                sawKeyword = true
                guard let p = params.firstIndex(where: { $0.name == k }) else {
                    let keys = params.filter { !$0.isTensor }.map(\.name).filter { $0 != "stream" }
                    throw error(a.token, "unknown keyword '\(k)' for \(f.name): " + (keys.isEmpty ? "it takes no keyword options" : "its options are \(keys.joined(separator: ", "))") + " (\(f.usage))")
                }
                guard slots[p].isEmpty else { throw error(a.token, "\(f.name) got \(k) twice (\(f.usage))") }
                slots[p] = [a]
                continue
            }
            guard !sawKeyword else { throw error(a.token, "a positional argument after a keyword argument in the call of \(f.name) (\(f.usage))") }
            while cursor < params.count, !slots[cursor].isEmpty, !isVariadic(params[cursor]) { cursor += 1 }
            guard cursor < params.count else {
                throw error(t, "\(f.name) takes at most \(params.count) argument\(params.count == 1 ? "" : "s") (\(f.usage)), got \(args.count)")
            }
            slots[cursor].append(a)
            if !isVariadic(params[cursor]) { cursor += 1 }
        }
        var inputs: [NodeID] = []
        var options: [Double] = []
        var missingOptional: String?
        for (i, p) in params.enumerated() {
            let given = slots[i]
            switch p {
            case .tensor(let n), .tensors(let n):
                guard !given.isEmpty else { throw error(t, "\(f.name) needs \(n) (\(f.usage)), got \(args.count) argument\(args.count == 1 ? "" : "s")") }
                if let m = missingOptional { throw error(given[0].token, "\(f.name): \(n) given without \(m) (\(f.usage))") }
                for a in given { inputs.append(materialize(a.operand)) }
            case .optionalTensor(let n):
                if given.isEmpty { missingOptional = missingOptional ?? n; continue }
                if let m = missingOptional { throw error(given[0].token, "\(f.name): \(n) given without \(m) (\(f.usage))") }
                inputs.append(materialize(given[0].operand))
            case .integer(let n, let d):
                if let a = given.first { options.append(Double(try integer(a, n))) }
                else if let d { options.append(Double(d)) }
                else { throw error(t, "\(f.name) needs \(n) (\(f.usage))") }
            case .number(let n, let d):
                if let a = given.first { options.append(try number(a, n)) }
                else if let d { options.append(d) }
                else { throw error(t, "\(f.name) needs \(n) (\(f.usage))") }
            case .axis(let n, let d, let extra):
                let shape = inputs.first.map { graph[$0].value.shape } ?? []
                if let a = given.first { options.append(Double(try axis(a, shape: shape, function: f.name, extra: extra))) }
                else if let d { options.append(Double(try resolveAxis(d, at: t, shape: shape, function: f.name, extra: extra))) }
                else { throw error(t, "\(f.name) needs \(n) (\(f.usage))") }
            case .integers(let n):
                for a in given { options.append(Double(try integer(a, n))) }
            }
        }
        if f.name == "dropout" && slots[params.count - 1].isEmpty {
            // The mask's stream: the statement's name, the --seed and which dropout of the statement this is.
            draws += 1
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in statementName.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h ^= seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(draws)
            options[options.count - 1] = Double(h & ((1 << 52) - 1))
        }
        let call = TensorCall(index: index, arity: inputs.count, options: options)
        return .node(try add(.call(call), inputs: inputs, at: t))
    }

    func isVariadic(_ p: TensorFunction.Parameter) -> Bool {
        switch p {
        case .tensors, .integers: return true
        default: return false
        }
    }

    /// Normal samples from SplitMix64 seeded by the seed and the statement's name (FNV-1a), Box–Muller.
    static func randn(_ shape: [Int], seed: UInt64, name: String, draw: Int) -> Tensor {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var rng = SeededGenerator(seed: seed ^ h ^ (UInt64(draw) &* 0x9E37_79B9_7F4A_7C15))
        let n = shape.reduce(1, *)
        var out = [Double](repeating: 0, count: n)
        var i = 0
        while i < n {
            let u1 = Double((rng.next() >> 11) + 1) / Double(1 << 53)   // (0, 1]
            let u2 = Double(rng.next() >> 11) / Double(1 << 53)
            let r = (-2 * Glibc.log(u1)).squareRoot()
            out[i] = r * Glibc.cos(2 * Double.pi * u2)
            if i + 1 < n { out[i + 1] = r * Glibc.sin(2 * Double.pi * u2) }
            i += 2
        }
        return Tensor(shape: shape, data: out)
    }
}


