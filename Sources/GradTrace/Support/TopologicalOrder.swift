/// The one topological sort of the graph readers (graph JSON and ``GraphDescription``).
enum TopologicalOrder {
    /// What sorting found: positions in an order where inputs come first, or a cycle.
    enum Outcome {
        case order([Int])
        /// `node` (a position) is on a cycle that was reached again from `through`.
        case cycle(node: Int, through: Int)
    }

    /// Sorts `count` nodes whose inputs are given as ids (`inputs(k)` for the node at position `k`) and found
    /// through `position`; ids that name no node are skipped (the callers report them). A list already in
    /// order (every input before its user, as writers emit it) keeps its order without a search.
    /// - Complexity: O(nodes + edges), iterative depth-first search (no recursion, any depth).
    static func sort(count: Int, position: IDPositions, inputs: (Int) -> [Int]) -> Outcome {
        var ordered = true
        for k in 0..<count where ordered {
            for i in inputs(k) where position[i].map({ $0 >= k }) ?? false { ordered = false }
        }
        if ordered { return .order(Array(0..<count)) }
        var state = [UInt8](repeating: 0, count: count)  // 0 new, 1 on the stack, 2 done
        var order: [Int] = []
        order.reserveCapacity(count)
        for start in 0..<count where state[start] == 0 {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            state[start] = 1
            while let top = stack.last {
                let ins = inputs(top.node)
                if top.next < ins.count {
                    stack[stack.count - 1].next += 1
                    guard let child = position[ins[top.next]] else { continue }
                    switch state[child] {
                    case 0: state[child] = 1; stack.append((child, 0))
                    case 1: return .cycle(node: child, through: top.node)
                    default: break
                    }
                } else {
                    state[top.node] = 2
                    order.append(top.node)
                    stack.removeLast()
                }
            }
        }
        return .order(order)
    }
}
