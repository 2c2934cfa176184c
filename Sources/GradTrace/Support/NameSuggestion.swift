/// The closest known name to a misspelt one: how an unknown command, function or option is answered
/// with "did you mean …?" instead of a long list.
public enum NameSuggestion {
    /// The known name closest to `name`, or nil when none is close: within `max(1, count / 3)` edits, or a
    /// name that `name` starts (`soft` → `softmax`). Among names equally near, one of the typed length
    /// wins (`tahn` → `tanh`, a transposition, rather than `tan`), then the alphabetically first, so the
    /// answer never depends on the order of `names`.
    public static func closest(to name: String, among names: [String]) -> String? {
        let typed = name.lowercased()
        let ranked = names.map { (name: $0, distance: editDistance(typed, $0), length: abs($0.count - typed.count)) }
            .sorted { ($0.distance, $0.length) != ($1.distance, $1.length)
                ? ($0.distance, $0.length) < ($1.distance, $1.length) : $0.name < $1.name }
        guard let best = ranked.first else { return nil }
        if best.distance <= max(1, typed.count / 3) { return best.name }
        return names.filter { $0.hasPrefix(typed) && !typed.isEmpty }.min()
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit (`tarce` → `trace` is 1).
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }
}
