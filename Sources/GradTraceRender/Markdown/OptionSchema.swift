import GradTrace

/// One option of a drawing as the command line and a ```` ```gradtrace ```` fence both know it: its
/// names, help, example value, and the line it adds to a fence's image key.
public struct OptionSpec: Sendable {
    /// The fence's name (`rankdir=`), nil when fences do not take it.
    public let fence: String?
    /// The command line's long name (`--rankdir`), nil when the command line does not take it.
    public let cli: String?
    /// One sentence of help, shown by `--help` and in the fence documentation.
    public let help: String
    /// The value's placeholder in `--help` (`pt`, `name`), nil for the argument parser's own.
    public let valueName: String?
    /// A value to show in "needs a value" messages (`rankdir=TB`).
    public let example: String
    /// The image-key line(s) of a fence's options, nil for options that do not change the picture
    /// (`alt`, `width`, `id`, `ref`, `src`) or that the command line alone takes.
    let key: (@Sendable (MarkdownBlockOptions, MarkdownBlockOptions.ImageFormat) -> String)?

    /// Whether the option changes the picture, and so a fence's image key.
    public var changesPicture: Bool { key != nil }
}

/// The one table of drawing options: the command line's help and names, a fence's option names,
/// examples and image key all read it, so that an option is declared once. The order is the
/// documentation's order and the order of the lines of a fence's image key (changing it renames
/// every image: see ``MarkdownBlockOptions/normalized(defaultFormat:)``).
///
/// ```swift
/// OptionSchema.spec(fence: "color")?.cli   // "color-by"
/// OptionSchema.fenceNames.first            // "format"
/// ```
public enum OptionSchema {
    public typealias Options = MarkdownBlockOptions

    public static let all: [OptionSpec] = [
        OptionSpec(fence: "format", cli: nil, help: "The image format: svg or png (default: the document's --format).", valueName: nil, example: "svg",
                   key: { o, d in "format=\((o.format ?? d).rawValue)\n" }),
        OptionSpec(fence: "step", cli: "step", help: "The step to draw: 0 is the forward pass, the last step the final state (default).", valueName: nil,
                   example: "final", key: { o, _ in
                       switch o.step {
                       case .final: return "step=final\n"
                       case .all: return "step=all\nlegend=last\n"  // the strip draws its legend once, under the last frame
                       case .number(let k): return "step=\(k)\n"
                       }
                   }),
        OptionSpec(fence: "animate", cli: nil, help: "An animated SVG (format svg) or GIF (format png) of the whole pass.", valueName: nil, example: "",
                   key: { o, _ in "animate=\(o.animate)\n" }),
        OptionSpec(fence: "alt", cli: nil, help: "The image's alt text (default: the captions).", valueName: nil, example: "\"…\"", key: nil),
        OptionSpec(fence: "title", cli: "title", help: "A title drawn above the graph.", valueName: nil, example: "\"…\"",
                   key: { o, _ in "title=" + (o.title.map { "\($0.utf8.count):" + $0 } ?? "-") + "\n" }),
        OptionSpec(fence: "at", cli: "at", help: "Override an input's value (repeatable).", valueName: "name=value", example: "\"x=2,w=3\"",
                   key: { o, _ in
                       "at=" + o.at.sorted { $0.name < $1.name }.map { v -> String in
                           // A tensor value keys by its shape and every element (a number keys as before).
                           guard let t = v.tensor else { return "\(v.name)=\(v.value)" }
                           return "\(v.name)=\(t.shapeText){" + t.data.map { "\($0)" }.joined(separator: " ") + "}"
                       }.joined(separator: ",") + "\n"
                   }),
        OptionSpec(fence: "seed", cli: "seed", help: "Seed of randn(…) in tensor programs (default 0): the same seed gives the same numbers everywhere.",
                   valueName: "S", example: "7", key: { o, _ in o.seed != 0 ? "seed=\(o.seed)\n" : "" }),  // only when given, so earlier blocks keep their names
        OptionSpec(fence: "rankdir", cli: "rankdir", help: "Rank direction: auto (default: the one nearer a page's shape), LR (left to right) or TB (top to bottom).",
                   valueName: nil, example: "TB", key: { o, _ in "rankdir=\(o.rankdir.rawValue)\n" }),
        OptionSpec(fence: "theme", cli: "theme", help: "Colour theme: light or dark.", valueName: nil, example: "dark",
                   key: { o, _ in "theme=\(o.theme.rawValue)\n" }),
        OptionSpec(fence: "mode", cli: "mode", help: "reverse (default): gradients flow back from the output; forward: tangents flow from --wrt towards the output.",
                   valueName: nil, example: "forward", key: { o, _ in "mode=\(o.mode.rawValue)\n" }),
        OptionSpec(fence: "wrt", cli: "wrt", help: "Forward mode: the input to take tangents with respect to.", valueName: "name", example: "x",
                   key: { o, _ in "wrt=\(o.wrt ?? "-")\n" }),
        OptionSpec(fence: "wiggle", cli: "wiggle", help: "Forward mode: also run the program with --wrt moved by H and show the actual change beside the prediction.",
                   valueName: "h", example: "0.01", key: { o, _ in "wiggle=\(o.wiggle.map { "\($0)" } ?? "-")\n" }),
        OptionSpec(fence: "color", cli: "color-by", help: "Node colours: state (default) or grad (log₁₀|gradient|, with a legend).", valueName: nil,
                   example: "grad", key: { o, _ in "color=\(o.colorByGradient ? "grad" : "state")\n" }),
        OptionSpec(fence: "collapse", cli: "collapse",
                   help: "Draw each neuron or layer (or, on tensor programs, each module: attn from attn.q.weight; module:2 one level deeper: attn.q) as one node, with its parameters' gradients; groups come from dotted names such as l1.n2.w0, and edges sum the gradients they stand for.",
                   valueName: "neuron|layer|module|module:N", example: "module:2",
                   key: { o, _ in o.collapse.map { "collapse=\($0)\n" } ?? "" }),  // only when given, so earlier blocks keep their names
        OptionSpec(fence: "labels", cli: "labels", help: "Edge labels: compact (default: numbers, then the symbolic chain smaller), numbers, or full.",
                   valueName: nil, example: "numbers", key: { o, _ in "labels=\(o.labels.rawValue)\n" }),
        OptionSpec(fence: "max-width", cli: "max-width",
                   help: "The widest picture wanted, in points: labels are compacted, the direction switched, nodes drawn as small boxes (tensor graphs: with each step's nodes in full under them) and, last, the graph split by module into bands stacked top to bottom (fences: the column, 660 pt, unless max-width=none).",
                   valueName: "pt", example: "600", key: { o, _ in "max-width=\(o.effectiveMaxWidth.map { "\($0)" } ?? "none")\n" }),
        OptionSpec(fence: "width", cli: nil, help: "The displayed width: N pixels or N% (the block becomes <img … width=\"N\">).", valueName: nil, example: "600", key: nil),
        OptionSpec(fence: "id", cli: nil, help: "A name for this block's program, so later blocks can reuse it with ref=.", valueName: nil, example: "neuron", key: nil),
        OptionSpec(fence: "ref", cli: nil, help: "The id= of an earlier block in the same file whose program this block draws.", valueName: nil, example: "neuron", key: nil),
        OptionSpec(fence: "src", cli: nil, help: "A program file to draw, relative to the Markdown file.", valueName: nil, example: "samples/neuron.grad", key: nil),
        // The command line's alone (a fence draws with their defaults).
        OptionSpec(fence: nil, cli: "svg-text", help: "SVG text: text (default, real <text> elements) or outlines (Cairo's glyph paths).", valueName: nil, example: "outlines", key: nil),
        OptionSpec(fence: nil, cli: "scale", help: "Pixels per point for PNG, GIF and animated PNG (default 2; lowered automatically for very large graphs).",
                   valueName: nil, example: "2", key: nil),
        OptionSpec(fence: nil, cli: "granularity", help: "One backward step per node (default), per edge, or per layer (a run of one layer's nodes).",
                   valueName: nil, example: "edge", key: nil),
        OptionSpec(fence: nil, cli: "clusters", help: "Box every neuron and layer (groups from dotted names such as l1.n2.w0).", valueName: nil, example: "", key: nil),
        OptionSpec(fence: nil, cli: "cells",
                   help: "Tensor cells: auto (default: numbers up to 16 elements, colours and a stats line beyond) or all (every element with its number).",
                   valueName: "auto|all", example: "all", key: nil),
    ]

    /// The widths `max-width` accepts, in points, on the command line and in fences.
    public static let maxWidthRange: ClosedRange<Double> = 100...100_000

    /// Every fence option name, in the documentation's order.
    public static let fenceNames: [String] = all.compactMap(\.fence)

    /// The option a fence spells `name`.
    public static func spec(fence name: String) -> OptionSpec? { all.first { $0.fence == name } }

    /// The option the command line spells `--name`.
    public static func spec(cli name: String) -> OptionSpec? { all.first { $0.cli == name } }

    /// The help of `--name` (empty for a name not in the table: a test checks every drawing option is).
    public static func help(cli name: String) -> String { spec(cli: name)?.help ?? "" }

    /// The image key of a fence's options: every keyed option's line, in the table's order.
    static func key(_ o: MarkdownBlockOptions, defaultFormat: MarkdownBlockOptions.ImageFormat) -> String {
        all.compactMap(\.key).map { $0(o, defaultFormat) }.joined()
    }
}
