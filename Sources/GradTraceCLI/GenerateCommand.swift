import ArgumentParser
import GradTrace
import GradTraceFiles

extension Activation: ExpressibleByArgument {}

package struct GenerateCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a program for a network: `generate mlp` builds micrograd's MLP with GradTrace's nn helpers and writes it out node for node.",
        discussion: """
            The default is micrograd's README demo: MLP(3, [4, 4, 1]) with tanh, on the four samples \
            [[2,3,-1], [3,-1,0.5], [0.5,1,1], [1,1,-1]] with targets [1,-1,-1,1], and a sum of squared errors. \
            Weights are drawn from a seeded generator, so the same options give the same program.
            """
    )

    @Argument(help: "What to generate: mlp.")
    package var kind: String

    @Option(help: "Inputs per sample.")
    package var inputs: Int = 3

    @Option(help: "Layer sizes, comma-separated (the last is the output layer).")
    package var layers: String = "4,4,1"

    @Option(help: "Hidden-layer activation: tanh, relu or linear.")
    package var activation: Activation = .tanh

    @Option(help: "Seed of the weight initialisation.")
    package var seed: UInt64 = 1337

    @Option(help: "Number of demo samples to use (1…4).")
    package var samples: Int = 4

    @Flag(help: "Write the network as matrix layers (h1 = tanh(X @ W1 + b1), …) with the same weights and data: a tensor program of a few nodes.")
    package var tensor = false

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The program file to write, or - for standard output.", valueName: "file"),
            completion: .file(extensions: ["grad"]))
    package var outputFile: String = "-"

    /// `s` without leading and trailing blanks: tabs and Unicode space separators (Foundation's `.whitespaces`).
    static func trimmingBlanks(_ s: Substring) -> Substring {
        func blank(_ u: Unicode.Scalar) -> Bool { u == "\t" || u.properties.generalCategory == .spaceSeparator }
        var scalars = s.unicodeScalars[...]
        while let f = scalars.first, blank(f) { scalars.removeFirst() }
        while let l = scalars.last, blank(l) { scalars.removeLast() }
        return Substring(scalars)
    }

    package func run() throws {
        guard kind == "mlp" else { throw CLIError("generate knows 'mlp' only, not '\(kind)'") }
        let parts = layers.split(separator: ",", omittingEmptySubsequences: false)
        let sizes = parts.compactMap { Int(Self.trimmingBlanks($0)) }
        guard !sizes.isEmpty, sizes.count == parts.count, sizes.allSatisfy({ $0 > 0 && $0 <= 64 }) else {
            throw CLIError("--layers needs positive sizes up to 64, such as 4,4,1")
        }
        guard inputs > 0 && inputs <= 64 else { throw CLIError("--inputs must be 1…64") }
        guard (1...4).contains(samples) else { throw CLIError("--samples must be 1…4") }
        let tape = Tape()
        let mlp = MLP(inputs: inputs, layers: sizes, activation: activation, tape: tape, seed: seed)
        let xs = MLP.demoInputs.prefix(samples).map { row in (0..<inputs).map { row[$0 % row.count] } }
        let ys = Array(MLP.demoTargets.prefix(samples))
        let loss = mlp.squaredErrorLoss(xs: xs, ys: ys)
        loss.backward()
        if tensor {
            let header = """
                # micrograd's MLP(\(inputs), [\(sizes.map(String.init).joined(separator: ", "))]) with \(activation.rawValue) as matrix layers, \(samples) sample(s) as the rows of X, sum of squared errors.
                # Written by: gradtrace generate mlp --tensor --inputs \(inputs) --layers \(layers) --activation \(activation.rawValue) --seed \(seed) --samples \(samples)
                # W1[i][j] is the scalar demo's l1.nj.wi and b1[j] its l1.nj.b: the same weights, so the same gradients.
                # expect: loss = \(NumberFormat.exact(loss.data))
                \(mlp.layers[0].neurons[0].weights.prefix(3).enumerated().map { "# expect: dloss/dW1[\($0.offset), 0] = \(NumberFormat.exact($0.element.grad))" }.joined(separator: "\n"))
                """
            let text = mlp.tensorSource(xs: xs, ys: ys, header: header)
            try emit(Array(text.utf8), to: outputFile, writer: Writer())
            return
        }
        let expectations = mlp.parameters.prefix(3).map {
            "# expect: dloss/d\(tape.graph.name(of: $0.id)!) = \(NumberFormat.exact($0.grad))"
        }.joined(separator: "\n")
        let header = """
            # micrograd's MLP(\(inputs), [\(sizes.map(String.init).joined(separator: ", "))]) with \(activation.rawValue), \(samples) sample(s), sum of squared errors.
            # Written by: gradtrace generate mlp --inputs \(inputs) --layers \(layers) --activation \(activation.rawValue) --seed \(seed) --samples \(samples)
            # Parameters are named l<layer>.n<neuron>.w<input> and .b; every sample reuses the neuron names (as micrograd's graph does).
            # \(tape.graph.count) values, \(tape.graph.nodes.filter { !$0.op.isLeaf }.count) operations; loss = \(NumberFormat.exact(loss.data))
            # expect: loss = \(NumberFormat.exact(loss.data))
            \(expectations)
            """
        let text = ProgramWriter.source(of: tape.graph, output: loss.id, header: header)
        try emit(Array(text.utf8), to: outputFile, writer: Writer())
    }
}
