/// A small deterministic pseudo-random generator (SplitMix64), so a network's initial weights
/// are the same on every machine and every run.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), as micrograd's `random.uniform(-1, 1)`, from 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) / Double(1 << 53) * 2 - 1
    }
}

/// The activation of a neuron.
public enum Activation: String, Sendable, CaseIterable {
    case tanh, relu, linear
}

/// One neuron: `act(b + Σ wᵢ·xᵢ)`, built exactly as micrograd builds it (the sum starts at the
/// bias and adds each product in turn), with parameters named `l1.n2.w0` and `l1.n2.b`.
public struct Neuron {
    public let weights: [Value]
    public let bias: Value
    public let activation: Activation
    /// The name prefix, `l1.n2`.
    public let name: String

    /// Creates the neuron's parameters on `tape`, drawn uniformly from [-1, 1) with `rng`.
    public init(inputs: Int, activation: Activation, name: String, tape: Tape, rng: inout SeededGenerator) {
        weights = (0..<inputs).map { tape.input("\(name).w\($0)", rng.uniform()) }
        bias = tape.input("\(name).b", rng.uniform())
        self.activation = activation
        self.name = name
    }

    /// Applies the neuron to values.
    public func callAsFunction(_ x: [Value]) -> Value {
        var act = bias
        for (w, xi) in zip(weights, x) { act = act + w * xi }
        return finish(act)
    }

    /// Applies the neuron to plain numbers: each becomes a fresh constant where a weight
    /// multiplies it, as in micrograd.
    public func callAsFunction(_ x: [Double]) -> Value {
        var act = bias
        for (w, xi) in zip(weights, x) { act = act + w * xi }
        return finish(act)
    }

    private func finish(_ act: Value) -> Value {
        switch activation {
        case .tanh:
            act.named("\(name).sum")
            return act.tanh().named("\(name).out")
        case .relu:
            act.named("\(name).sum")
            return act.relu().named("\(name).out")
        case .linear:
            return act.named("\(name).out")
        }
    }

    public var parameters: [Value] { weights + [bias] }
}

/// A layer of neurons sharing their inputs.
public struct Layer {
    public let neurons: [Neuron]
    public let name: String

    public init(inputs: Int, outputs: Int, activation: Activation, name: String, tape: Tape, rng: inout SeededGenerator) {
        var ns: [Neuron] = []
        for k in 0..<outputs { ns.append(Neuron(inputs: inputs, activation: activation, name: "\(name).n\(k)", tape: tape, rng: &rng)) }
        neurons = ns
        self.name = name
    }

    public func callAsFunction(_ x: [Value]) -> [Value] { neurons.map { $0(x) } }

    public var parameters: [Value] { neurons.flatMap(\.parameters) }
}

/// A multi-layer perceptron: hidden layers with `activation`, a linear output layer, as micrograd's `MLP`.
///
/// ```swift
/// let mlp = MLP(inputs: 3, layers: [4, 4, 1], seed: 1337)
/// let loss = mlp.squaredErrorLoss(xs: xs, ys: ys)
/// loss.backward()
/// mlp.parameters.count   // 41
/// ```
public struct MLP {
    public let layers: [Layer]
    public let tape: Tape

    /// Parameters are created layer by layer, neuron by neuron, weights then bias, from `seed`.
    public init(inputs: Int, layers sizes: [Int], activation: Activation = .tanh, tape: Tape = Tape(), seed: UInt64 = 1337) {
        var rng = SeededGenerator(seed: seed)
        var ls: [Layer] = []
        var fanIn = inputs
        for (i, n) in sizes.enumerated() {
            let act: Activation = i == sizes.count - 1 ? .linear : activation
            ls.append(Layer(inputs: fanIn, outputs: n, activation: act, name: "l\(i + 1)", tape: tape, rng: &rng))
            fanIn = n
        }
        layers = ls
        self.tape = tape
    }

    /// The network's outputs for one sample of plain numbers.
    public func callAsFunction(_ x: [Double]) -> [Value] {
        var act = layers[0].neurons.map { $0(x) }
        for l in layers.dropFirst() { act = l(act) }
        return act
    }

    /// Σ (ŷ − y)² over the samples, built as micrograd's `sum((yout - ygt)**2 for …)`:
    /// `yout + (−ygt)`, squared, summed from 0.
    public func squaredErrorLoss(xs: [[Double]], ys: [Double]) -> Value {
        var loss = tape.constant(0)
        for (x, y) in zip(xs, ys) {
            let diff = self(x)[0] + tape.constant(-y)
            loss = loss + diff.pow(2)
        }
        return loss.named("loss")
    }

    public var parameters: [Value] { layers.flatMap(\.parameters) }

    /// micrograd's README demo data: four samples of three inputs, targets ±1.
    public static let demoInputs: [[Double]] = [[2, 3, -1], [3, -1, 0.5], [0.5, 1, 1], [1, 1, -1]]
    public static let demoTargets: [Double] = [1, -1, -1, 1]
}

extension MLP {
    /// The same network and data as a tensor program: one matrix layer per layer
    /// (`h1 = tanh(X @ W1 + b1)`), `W1[i][j]` being neuron `j`'s weight `i` (`l1.nj.wi`), so its
    /// gradients are the scalar graph's, element for element. The loss is Σ (out − Y)².
    public func tensorSource(xs: [[Double]], ys: [Double], header: String = "") -> String {
        func row(_ v: [Double]) -> String { "[" + v.map { NumberFormat.exact($0) }.joined(separator: ", ") + "]" }
        func matrix(_ rows: [[Double]]) -> String { "[" + rows.map(row).joined(separator: ", ") + "]" }
        var lines: [String] = header.isEmpty ? [] : header.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.append("X = " + matrix(xs))
        lines.append("Y = " + matrix(ys.map { [$0] }))
        var previous = "X"
        for (k, layer) in layers.enumerated() {
            let fanIn = layer.neurons[0].weights.count
            let w = (0..<fanIn).map { i in layer.neurons.map { $0.weights[i].data } }
            lines.append("W\(k + 1) = " + matrix(w))
            lines.append("b\(k + 1) = " + row(layer.neurons.map(\.bias.data)))
            let z = "\(previous) @ W\(k + 1) + b\(k + 1)"
            let last = k == layers.count - 1
            let name = last ? "out" : "h\(k + 1)"
            switch layer.neurons[0].activation {
            case .tanh: lines.append("\(name) = tanh(\(z))")
            case .relu: lines.append("\(name) = relu(\(z))")
            case .linear: lines.append("\(name) = \(z)")
            }
            previous = name
        }
        lines.append("loss = sum((\(previous) - Y)^2)")
        return lines.joined(separator: "\n") + "\n"
    }
}
