import GradTrace

/// The arrowhead shared by every backend: a triangle from the spline's end to Graphviz's tip.
enum Arrow {
    static func triangle(from: Point, to: Point, width: Double) -> [Point] {
        let dx = to.x - from.x, dy = to.y - from.y
        let len = (dx * dx + dy * dy).squareRoot()
        guard len > 0 else { return [to, to, to] }
        let ux = dx / len, uy = dy / len
        let half = 3.5 + width
        return [to, Point(from.x - uy * half, from.y + ux * half), Point(from.x + uy * half, from.y - ux * half)]
    }
}
