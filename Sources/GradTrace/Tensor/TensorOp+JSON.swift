/// Tensor ops in graph JSON: the option members a node carries after its `"op"` (written by
/// `trace --json`, read by ``GraphJSON``), in one place so that writing and reading agree.
///
/// ```swift
/// TensorOp.sum(axis: 1).jsonOptions            // [("axis", "1")]
/// try TensorOp.json(name: "sum", options: ["axis": .number(1)], operands: [[2, 3]])   // .sum(axis: 1)
/// ```
extension TensorOp {
    /// An option's value as a graph file gives it.
    public enum JSONOption: Sendable, Equatable {
        case number(Double)
        case numbers([Double])
        /// An array holding arrays too (`"slices": [0, [1, 3, 1]]`).
        case list([JSONOption])
        case string(String)
        case bool(Bool)

        var described: String {
            switch self {
            case .number(let d): return NumberFormat.exact(d)
            case .numbers(let a): return "[" + a.map { NumberFormat.exact($0) }.joined(separator: ", ") + "]"
            case .list(let a): return "[" + a.map(\.described).joined(separator: ", ") + "]"
            case .string(let s): return "\"\(s)\""
            case .bool(let b): return b ? "true" : "false"
            }
        }
    }

    /// Every option key of every op (the built-in ones and the registry's): a node carrying one its op does not take is refused.
    public static let jsonOptionKeys: Set<String> = {
        var keys: Set<String> = ["axis", "to", "index", "exponent", "slices"]
        for f in TensorFunctions.table { for p in f.parameters where !p.isTensor { keys.insert(p.name) } }
        return keys
    }()

    /// The op names a graph file may use, with their number of inputs (`pow` takes one input with an `exponent`, or two).
    static let jsonArity: [String: ClosedRange<Int>] = {
        var t: [String: ClosedRange<Int>] = [
            "input": 0...0, "const": 0...0, "add": 2...2, "sub": 2...2, "mul": 2...2, "div": 2...2, "neg": 1...1, "pow": 1...2,
            "matmul": 2...2, "sum": 1...1, "mean": 1...1, "max": 1...1, "logsumexp": 1...1, "softmax": 1...1,
            "log_softmax": 1...1, "transpose": 1...1, "reshape": 1...1, "index": 1...1, "slice": 1...1, "pick": 2...2, "cross_entropy": 2...2,
        ]
        for f in Op.namedFunctions { t[f.name] = 1...1 }
        for f in TensorFunctions.table where t[f.name] == nil {
            var low = 0, high = 0
            for p in f.parameters {
                switch p {
                case .tensor: low += 1; high += 1
                case .optionalTensor: high += 1
                case .tensors: low += 1; high += 8
                default: break
                }
            }
            t[f.name] = low...high
        }
        return t
    }()

    /// The option members written after `"op"`: key and JSON text.
    public var jsonOptions: [(key: String, text: String)] {
        func ints(_ a: [Int]) -> String { "[" + a.map(String.init).joined(separator: ", ") + "]" }
        switch self {
        case .elementwise(.powConst(let c)): return [("exponent", NumberFormat.json(c))]
        case .reshape(let s): return [("to", ints(s))]
        case .index(let i): return [("index", ints(i))]
        case .slice(let axes):
            // A dropped axis as its index; a range as [start, stop, step].
            return [("slices", "[" + axes.map { $0.drops ? "\($0.start)" : "[\($0.start), \($0.start + ($0.count - 1) * $0.step + 1), \($0.step)]" }.joined(separator: ", ") + "]")]
        case .call(let c):
            var out: [(String, String)] = []
            var lists: [(String, [Double])] = []
            for (key, v) in c.namedOptions {
                if case .integers? = c.function.parameters.first(where: { $0.name == key }) {
                    if let i = lists.firstIndex(where: { $0.0 == key }) { lists[i].1.append(v) } else { lists.append((key, [v])) }
                } else {
                    out.append((key, NumberFormat.json(v)))
                }
            }
            for (key, vs) in lists { out.append((key, "[" + vs.map { NumberFormat.json($0) }.joined(separator: ", ") + "]")) }
            return out
        default: return axis.map { [("axis", String($0))] } ?? []
        }
    }

    /// The op a graph file names, checked against its operands' shapes (arity is checked by the caller).
    ///
    /// - Throws: ``TensorShapeError`` saying which option is missing, wrong or out of range.
    public static func json(name: String, options: [String: JSONOption], operands: [[Int]]) throws(TensorShapeError) -> TensorOp {
        let shape = operands.first ?? []
        var allowed: Set<String> = []
        func integer(_ key: String) throws(TensorShapeError) -> Int? {
            guard let o = options[key] else { return nil }
            guard case .number(let d) = o, d == d.rounded(), Swift.abs(d) < 1e9 else {
                throw TensorShapeError("\"\(key)\" must be a whole number, not \(o.described)")
            }
            return Int(d)
        }
        func integers(_ key: String, max: Int) throws(TensorShapeError) -> [Int]? {
            guard let o = options[key] else { return nil }
            var values: [Double] = []
            switch o {
            case .numbers(let a): values = a
            default: throw TensorShapeError("\"\(key)\" must be an array of whole numbers, not \(o.described)")
            }
            guard values.count <= max else { throw TensorShapeError("\"\(key)\" holds \(values.count) numbers; at most \(max)") }
            var out: [Int] = []
            for d in values {
                guard d == d.rounded(), Swift.abs(d) < 1e9 else { throw TensorShapeError("\"\(key)\" must hold whole numbers, not \(NumberFormat.exact(d))") }
                out.append(Int(d))
            }
            return out
        }
        func axis(required: Bool) throws(TensorShapeError) -> Int? {
            allowed.insert("axis")
            guard let a = try integer("axis") else {
                if required {
                    guard !shape.isEmpty else { throw TensorShapeError("\(name) needs a tensor with an axis, not a scalar") }
                    return shape.count - 1
                }
                return nil
            }
            let r = shape.count
            guard r > 0, a >= -r, a < r else {
                throw TensorShapeError("\"axis\": \(a) is out of range for shape \(Tensor.text(shape: shape)) (rank \(r))")
            }
            return a < 0 ? a + r : a
        }
        let op: TensorOp
        if let index = TensorFunctions.indexOf[name], !(name == "transpose" && options.isEmpty && shape.count == 2) {
            op = .call(try registryCall(index, options: options, operands: operands))
            return op
        }
        switch name {
        case "input": op = .input
        case "const": op = .constant
        case "add": op = .elementwise(.add)
        case "sub": op = .elementwise(.sub)
        case "mul": op = .elementwise(.mul)
        case "div": op = .elementwise(.div)
        case "neg": op = .elementwise(.neg)
        case "pow":
            if operands.count == 2 { op = .elementwise(.pow) } else {
                allowed.insert("exponent")
                guard case .number(let c)? = options["exponent"], c.isFinite else {
                    throw TensorShapeError("a one-input pow needs a finite number \"exponent\"")
                }
                op = .elementwise(.powConst(c))
            }
        case "matmul": op = .matmul
        case "sum": op = .sum(axis: try axis(required: false))
        case "mean": op = .mean(axis: try axis(required: false))
        case "max": op = .max(axis: try axis(required: false))
        case "logsumexp": op = .logsumexp(axis: try axis(required: true)!)
        case "softmax": op = .softmax(axis: try axis(required: true)!)
        case "log_softmax": op = .logSoftmax(axis: try axis(required: true)!)
        case "transpose": op = .transpose
        case "reshape":
            allowed.insert("to")
            guard let s = try integers("to", max: Tensor.maxRank), !s.isEmpty else {
                throw TensorShapeError("reshape needs \"to\": the new shape, as [2, 3]")
            }
            var total = 1
            for d in s {
                guard d > 0 && d <= Tensor.maxElements else { throw TensorShapeError("\"to\": sizes are 1…\(Tensor.maxElements), got \(d)") }
                let (p, o) = total.multipliedReportingOverflow(by: d)
                guard !o, p <= Tensor.maxElements else { throw TensorShapeError("\"to\": \(Tensor.text(shape: s)) has more than \(Tensor.maxElements) elements") }
                total = p
            }
            op = .reshape(s)
        case "index":
            allowed.insert("index")
            guard let idx = try integers("index", max: Tensor.maxRank), !idx.isEmpty else {
                throw TensorShapeError("index needs \"index\": the indices, as [1, 0]")
            }
            guard idx.count <= shape.count else {
                throw TensorShapeError("\"index\": \(idx.count) indices for shape \(Tensor.text(shape: shape)) of rank \(shape.count)")
            }
            for (k, i) in idx.enumerated() where i < 0 || i >= shape[k] {
                throw TensorShapeError("\"index\": \(i) is out of range for axis \(k) of shape \(Tensor.text(shape: shape)) (0…\(shape[k] - 1))")
            }
            op = .index(idx)
        case "slice":
            allowed.insert("slices")
            var items: [JSONOption] = []
            switch options["slices"] {
            case .list(let a)?: items = a
            case .numbers(let a)?: items = a.map { .number($0) }
            default: throw TensorShapeError("slice needs \"slices\": per leading axis an index or [start, stop, step]")
            }
            guard !items.isEmpty else { throw TensorShapeError("slice needs \"slices\": per leading axis an index or [start, stop, step]") }
            guard items.count <= shape.count else {
                throw TensorShapeError("\"slices\": \(items.count) axes for shape \(Tensor.text(shape: shape)) of rank \(shape.count)")
            }
            var axes: [SliceAxis] = []
            for (k, item) in items.enumerated() {
                let n = shape[k]
                switch item {
                case .number(let d) where d == d.rounded() && d >= 0 && d < Double(n):
                    axes.append(SliceAxis(start: Int(d), count: 1, step: 1, drops: true))
                case .numbers(let r) where r.count == 3 && r.allSatisfy({ $0 == $0.rounded() && Swift.abs($0) < 1e9 }):
                    let start = Int(r[0]), stop = Int(r[1]), step = Int(r[2])
                    guard step >= 1, start >= 0, stop <= n, stop > start else {
                        throw TensorShapeError("\"slices\": [\(start), \(stop), \(step)] does not fit axis \(k) of shape \(Tensor.text(shape: shape)) (0 ≤ start < stop ≤ \(n), step ≥ 1)")
                    }
                    axes.append(SliceAxis(start: start, count: (stop - start + step - 1) / step, step: step, drops: false))
                default:
                    throw TensorShapeError("\"slices\": \(item.described) for axis \(k) of shape \(Tensor.text(shape: shape)): an index 0…\(n - 1) or [start, stop, step]")
                }
            }
            op = .slice(axes)
        case "pick": op = .pick
        case "cross_entropy": op = .crossEntropy
        default:
            guard let f = Op.namedFunctions.first(where: { $0.name == name }) else {
                throw TensorShapeError("unknown op '\(name)' (known: " + jsonArity.keys.sorted().joined(separator: ", ") + ")")
            }
            op = .elementwise(f.op)
        }
        for key in options.keys.sorted() where !allowed.contains(key) {
            throw TensorShapeError("'\(name)' takes no option \"\(key)\"")
        }
        return op
    }

    /// A registry function's options bound by key as the language binds keywords: defaults filled in,
    /// axes resolved against the first operand, unknown keys refused (the caller checked the operand count).
    static func registryCall(_ index: Int, options: [String: JSONOption], operands: [[Int]]) throws(TensorShapeError) -> TensorCall {
        let f = TensorFunctions.table[index]
        var values: [Double] = []
        var known: Set<String> = []
        func whole(_ key: String, _ d: Double) throws(TensorShapeError) -> Double {
            guard d == d.rounded(), Swift.abs(d) < 1e15 else { throw TensorShapeError("\"\(key)\" must be a whole number, not \(NumberFormat.exact(d))") }
            return d
        }
        for p in f.parameters where !p.isTensor {
            known.insert(p.name)
            let given = options[p.name]
            switch p {
            case .tensor, .optionalTensor, .tensors: break
            case .integer(let n, let d):
                if case .number(let v)? = given { values.append(try whole(n, v)) }
                else if let given { throw TensorShapeError("\"\(n)\" must be a whole number, not \(given.described)") }
                else if let d { values.append(Double(d)) }
                else { throw TensorShapeError("\(f.name) needs \"\(n)\" (\(f.usage))") }
            case .number(let n, let d):
                if case .number(let v)? = given { values.append(v) }
                else if let given { throw TensorShapeError("\"\(n)\" must be a number, not \(given.described)") }
                else if let d { values.append(d) }
                else { throw TensorShapeError("\(f.name) needs \"\(n)\" (\(f.usage))") }
            case .axis(let n, let d, let extra):
                let rank = (operands.first?.count ?? 0) + extra
                var a: Int
                if case .number(let v)? = given { a = Int(try whole(n, v)) }
                else if let given { throw TensorShapeError("\"\(n)\" must be an axis (a whole number), not \(given.described)") }
                else if let d { a = d }
                else { throw TensorShapeError("\(f.name) needs \"\(n)\" (\(f.usage))") }
                guard rank > 0, a >= -rank, a < rank else {
                    throw TensorShapeError("\"\(n)\": \(a) is out of range for \(f.name) of shape \(Tensor.text(shape: operands.first ?? [])) (rank \(rank - extra))")
                }
                if a < 0 { a += rank }
                values.append(Double(a))
            case .integers(let n):
                switch given {
                case nil: break
                case .numbers(let vs)?:
                    guard vs.count <= 8 else { throw TensorShapeError("\"\(n)\" holds \(vs.count) numbers; at most 8") }
                    for v in vs { values.append(try whole(n, v)) }
                case .number(let v)?: values.append(try whole(n, v))
                case let other?: throw TensorShapeError("\"\(n)\" must be an array of whole numbers, not \(other.described)")
                }
            }
        }
        for key in options.keys.sorted() where !known.contains(key) {
            throw TensorShapeError("'\(f.name)' takes no option \"\(key)\"" + (known.isEmpty ? "" : " (its options: " + f.parameters.filter { !$0.isTensor }.map(\.name).joined(separator: ", ") + ")"))
        }
        return TensorCall(index: index, arity: operands.count, options: values)
    }
}
