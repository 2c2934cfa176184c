/// A DOT document as a small typed tree: graph, nodes, edges, attributes.
///
/// Nothing outside ``DOTEscaping`` builds DOT syntax by hand; ``write(to:)`` is the only
/// place where the tree becomes text.
///
/// ```swift
/// var g = DOTGraph(id: "G")
/// g.attributes = [.init("rankdir", "LR")]
/// g.statements = [.node("a", [.init("label", "x = 2")]), .edge("a", "b", [])]
/// var s = ""; g.write(to: &s)
/// ```
public struct DOTGraph: Sendable, Hashable {
    public var id: String
    public var attributes: [DOTAttribute] = []
    public var nodeDefaults: [DOTAttribute] = []
    public var edgeDefaults: [DOTAttribute] = []
    public var statements: [DOTStatement] = []

    public init(id: String) { self.id = id }

    /// Writes the graph as DOT text.
    public func write(to out: inout some TextOutputStream) {
        out.write("digraph \(DOTEscaping.id(id)) {\n")
        for a in attributes { out.write("  \(a.text);\n") }
        if !nodeDefaults.isEmpty { out.write("  node \(DOTAttribute.list(nodeDefaults));\n") }
        if !edgeDefaults.isEmpty { out.write("  edge \(DOTAttribute.list(edgeDefaults));\n") }
        for s in statements { s.write(to: &out, indent: "  ") }
        out.write("}\n")
    }

    /// The DOT text.
    public var text: String {
        var s = ""
        write(to: &s)
        return s
    }
}

/// A statement inside a graph.
public enum DOTStatement: Sendable, Hashable {
    case node(String, [DOTAttribute])
    case edge(String, String, [DOTAttribute])
    /// A subgraph; a name starting with `cluster` draws a box around its members.
    indirect case subgraph(String, [DOTAttribute], [DOTStatement])

    func write(to out: inout some TextOutputStream, indent: String) {
        switch self {
        case .node(let id, let attrs):
            out.write("\(indent)\(DOTEscaping.id(id))\(attrs.isEmpty ? "" : " " + DOTAttribute.list(attrs));\n")
        case .edge(let a, let b, let attrs):
            out.write("\(indent)\(DOTEscaping.id(a)) -> \(DOTEscaping.id(b))\(attrs.isEmpty ? "" : " " + DOTAttribute.list(attrs));\n")
        case .subgraph(let id, let attrs, let body):
            out.write("\(indent)subgraph \(DOTEscaping.id(id)) {\n")
            for a in attrs { out.write("\(indent)  \(a.text);\n") }
            for s in body { s.write(to: &out, indent: indent + "  ") }
            out.write("\(indent)}\n")
        }
    }
}

/// `name=value`, where the value is an escaped string or HTML-like markup.
public struct DOTAttribute: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        /// Any text: quoted and escaped; `\n` in the text becomes a DOT line break.
        case string(String)
        /// HTML-like label markup, emitted between `<` and `>` as it is (build it with ``DOTEscaping/html(_:)``).
        case html(String)
    }

    public var name: String
    public var value: Value

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = .string(value)
    }

    public init(_ name: String, html: String) {
        self.name = name
        self.value = .html(html)
    }

    var text: String {
        switch value {
        case .string(let s): return "\(DOTEscaping.id(name))=\(DOTEscaping.quoted(s))"
        case .html(let h): return "\(DOTEscaping.id(name))=<\(h)>"
        }
    }

    static func list(_ attrs: [DOTAttribute]) -> String {
        "[" + attrs.map(\.text).joined(separator: ", ") + "]"
    }
}
