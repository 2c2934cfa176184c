/// Batched matrix products and slices: the parts of ``TensorOp`` that walk leading axes.
extension TensorOp {
    /// NumPy's `matmul` shape for operands of rank 2…4 with at least one of rank 3 or more: the last two
    /// axes multiply, the leading (batch) axes broadcast.
    static func batchedShape(_ a: [Int], _ b: [Int]) throws(TensorShapeError) -> [Int] {
        let ta = Tensor.text(shape: a), tb = Tensor.text(shape: b)
        guard a.count >= 2, b.count >= 2 else {
            throw TensorShapeError("a batched @ takes operands of rank 2 or more, not shapes \(ta) and \(tb)")
        }
        let inner = a[a.count - 1], innerB = b[b.count - 2]
        guard inner == innerB else {
            throw TensorShapeError("shapes \(ta) and \(tb) do not multiply: the inner sizes \(inner) and \(innerB) differ")
        }
        guard let batch = Tensor.broadcastShape(Array(a.dropLast(2)), Array(b.dropLast(2))) else {
            throw TensorShapeError("shapes \(ta) and \(tb) do not multiply: their batch axes \(Tensor.text(shape: Array(a.dropLast(2)))) and \(Tensor.text(shape: Array(b.dropLast(2)))) do not broadcast")
        }
        return batch + [a[a.count - 2], b[b.count - 1]]
    }

    /// The batch offsets of `shape`'s matrices for each matrix of the broadcast batch `batch`.
    static func batchOffsets(_ shape: [Int], batch: [Int]) -> [Int] {
        let lead = Array(shape.dropLast(2)), size = shape.suffix(2).reduce(1, *)
        return Tensor.broadcastMap(from: lead, to: batch).map { $0 * size }
    }

    /// Matrix products per batch slice, with the 2-D kernels.
    static func batchedProduct(_ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = (try? batchedShape(a.shape, b.shape)) ?? []
        let batch = Array(shape.dropLast(2))
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        let oa = batchOffsets(a.shape, batch: batch), ob = batchOffsets(b.shape, batch: batch)
        var out: [Double] = []
        out.reserveCapacity(oa.count * m * n)
        for s in oa.indices {
            out += MatrixKernels.nn(Array(a.data[oa[s]..<(oa[s] + m * k)]), Array(b.data[ob[s]..<(ob[s] + k * n)]), m: m, k: k, n: n)
        }
        return Tensor(shape: shape, data: out)
    }

    /// The VJP of a batched product: per slice `g · Bᵀ` or `Aᵀ · g`, summed over the batch axes the operand was broadcast along.
    static func batchedVJP(operand k: Int, _ a: Tensor, _ b: Tensor, upstream g: Tensor) -> (Tensor, reduced: [Int]) {
        let batch = Array(g.shape.dropLast(2))
        let m = a.shape[a.rank - 2], kk = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        let oa = batchOffsets(a.shape, batch: batch), ob = batchOffsets(b.shape, batch: batch)
        let target = k == 0 ? a : b
        let size = k == 0 ? m * kk : kk * n
        var full: [Double] = []
        full.reserveCapacity(oa.count * size)
        for s in oa.indices {
            let gs = Array(g.data[(s * m * n)..<((s + 1) * m * n)])
            if k == 0 {
                full += MatrixKernels.nt(gs, Array(b.data[ob[s]..<(ob[s] + kk * n)]), m: m, n: n, k: kk)
            } else {
                full += MatrixKernels.tn(Array(a.data[oa[s]..<(oa[s] + m * kk)]), gs, m: m, k: kk, n: n)
            }
        }
        let fullShape = batch + Array(target.shape.suffix(2))
        let (summed, reduced) = Tensor.unbroadcast(Tensor(shape: fullShape, data: full), to: target.shape)
        return (summed, reduced)
    }
}

/// One axis of a slice: `start:stop:step` (bounds resolved, non-negative), or a single index that drops the axis.
public struct SliceAxis: Sendable, Hashable {
    public var start: Int
    /// Elements taken.
    public var count: Int
    public var step: Int
    /// A plain index (`x[0, 1:]`'s `0`): the axis is dropped.
    public var drops: Bool

    public init(start: Int, count: Int, step: Int, drops: Bool) {
        self.start = start
        self.count = count
        self.step = step
        self.drops = drops
    }

    /// `0:2`, `1:`, `::2`, `3`.
    public var text: String {
        if drops { return String(start) }
        let stop = start + (count - 1) * step + 1
        return "\(start):\(stop)" + (step == 1 ? "" : ":\(step)")
    }

    /// The shape of `shape[axes…]`.
    static func shape(_ shape: [Int], _ axes: [SliceAxis]) -> [Int] {
        var out: [Int] = []
        for (k, d) in shape.enumerated() {
            if k < axes.count { if !axes[k].drops { out.append(axes[k].count) } } else { out.append(d) }
        }
        return out
    }

    /// The flat input offset of every output element, in output order. O(output elements).
    static func offsets(_ shape: [Int], _ axes: [SliceAxis]) -> [Int] {
        let strides = Tensor.strides(shape)
        var offsets = [0]
        for (k, d) in shape.enumerated() {
            let picks: [Int] = k < axes.count ? (0..<axes[k].count).map { axes[k].start + $0 * axes[k].step } : Array(0..<d)
            var next: [Int] = []
            next.reserveCapacity(offsets.count * picks.count)
            for o in offsets { for p in picks { next.append(o + p * strides[k]) } }
            offsets = next
        }
        return offsets
    }
}
