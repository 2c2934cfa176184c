/// Overflow-safe sizes: every product of axis sizes that input can influence goes through these, so a
/// hostile shape (`reshape(x, 65536, 65536, 65536, 65536)`) is a located error, never an arithmetic trap.
extension Tensor {
    /// The number of elements of `shape`, or nil when it does not fit in an `Int`. O(rank).
    ///
    /// ```swift
    /// Tensor.elementCount([2, 3])                      // 6
    /// Tensor.elementCount([65536, 65536, 65536, 65536]) // nil (2⁶⁴)
    /// ```
    public static func elementCount<S: Sequence>(_ shape: S) -> Int? where S.Element == Int {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = p
        }
        return n
    }

    /// The number of elements of `shape`, saturating at `Int.max` (for comparisons with a limit).
    public static func saturatingCount<S: Sequence>(_ shape: S) -> Int where S.Element == Int {
        elementCount(shape) ?? Int.max
    }

    /// The exact number of elements of `shape` in decimal, however large (`"18446744073709551616"` for
    /// `[65536, 65536, 65536, 65536]`), for messages. O(rank × digits).
    public static func elementCountText<S: Sequence>(_ shape: S) -> String where S.Element == Int {
        if let n = elementCount(shape) { return String(n) }
        // Schoolbook multiplication on base-10⁹ limbs, least significant first.
        var limbs: [UInt64] = [1]
        for d in shape {
            var carry: UInt64 = 0
            let m = UInt64(max(d, 0))
            for i in limbs.indices {
                // d < 2⁶³ and limb < 10⁹: split d so that no partial product overflows.
                let hi = m / 1_000_000_000, lo = m % 1_000_000_000
                let low = limbs[i] * lo + carry
                carry = limbs[i] * hi + low / 1_000_000_000
                limbs[i] = low % 1_000_000_000
            }
            while carry > 0 { limbs.append(carry % 1_000_000_000); carry /= 1_000_000_000 }
        }
        var text = String(limbs.last!)
        for limb in limbs.dropLast().reversed() {
            let s = String(limb)
            text += String(repeating: "0", count: 9 - s.count) + s
        }
        return text
    }
}

/// The program-wide memory budget: what a graph's values, gradients, edge contributions and broadcast
/// index maps will take, counted as nodes are added, so that a short program cannot ask for gigabytes.
extension TensorGraph {
    /// The default budget: 2 GiB of values, gradients, contributions and index maps.
    public static let defaultMemoryBudget = 2 << 30

    /// Bytes a node of `op` with this output and these operand shapes will hold through a traced backward
    /// pass: its value and its gradient, one contribution per operand edge, and an index map for each
    /// operand that broadcasts. Saturates at `Int.max`.
    static func footprint(output: [Int], operands: [[Int]]) -> Int {
        let n = Tensor.saturatingCount(output)
        var elements = saturatingAdd(n, n)
        for s in operands {
            elements = saturatingAdd(elements, Tensor.saturatingCount(s))
            if s != output { elements = saturatingAdd(elements, n) }
        }
        let (bytes, o) = elements.multipliedReportingOverflow(by: MemoryLayout<Double>.size)
        return o ? Int.max : bytes
    }

    /// `a + b`, or `Int.max` when it overflows.
    static func saturatingAdd(_ a: Int, _ b: Int) -> Int {
        let (s, o) = a.addingReportingOverflow(b)
        return o ? Int.max : s
    }

    /// A size in bytes for messages, in the binary units `--memory-budget` takes: `"2 GiB"`, `"512 MiB"`, `"12 KiB"`.
    public static func bytesText(_ bytes: Int) -> String {
        let b = Double(bytes)
        for (unit, power) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where b >= Double(1 << power) {
            return NumberFormat.short(b / Double(1 << power), digits: 3) + " " + unit
        }
        return "\(bytes) bytes"
    }

    /// The refusal when `more` bytes would take the graph past its budget.
    func budgetError(adding more: Int) -> TensorShapeError {
        let total = TensorGraph.saturatingAdd(estimatedBytes, more)
        let need = total == Int.max ? "more than 9 EB" : TensorGraph.bytesText(total)
        return TensorShapeError("the program would hold about \(need) here (values, gradients, edge contributions and index maps; this statement adds \(TensorGraph.bytesText(more))); the memory budget is \(TensorGraph.bytesText(memoryBudget)): shrink the tensors, or raise the budget with --memory-budget SIZE (e.g. --memory-budget 8G)")
    }
}

