import CCairo
import Foundation
import GradTrace

/// Paints a sequence of drawings of one diagram on one image surface, repainting only what
/// changed from the drawing painted before (consecutive frames of a pass differ in a few nodes,
/// edges, labels and the caption).
///
/// The items of the new drawing are matched against the items on the surface; the longest run
/// of matched items painted in the same order stays, and the pixel bounds of every other item
/// (gone, new, changed or moved in the painting order) are repainted. A pixel outside those
/// rectangles is covered by the same items in the same order as before, so it is already right.
/// The rectangles are repainted on a scratch surface: the pixels of the background layer (the
/// canvas with the leading items every frame shares, such as clusters, painted once), then every
/// item that reaches a rectangle, in drawing order and *unclipped*, so that each is rasterised
/// exactly as in a full paint (Cairo rasterises a path that crosses a clip's edge slightly
/// differently near that edge), and the rectangles are copied over. When most of the picture
/// changed, the whole drawing is painted. The result equals a full repaint pixel for pixel, so
/// the PNG bytes do not depend on the order frames are painted in (tests check every frame).
///
/// One per thread (it owns a ``Painter`` and its text engine).
final class FramePainter {
    let painter: Painter
    let scale: Double
    private var surface: CairoSurface?
    /// The items painted on `surface`, with their keys and pixel bounds.
    private var painted: [PaintedItem] = []
    /// The canvas with the leading items every frame shares (title, clusters), painted once,
    /// and those items' keys. Repainted rectangles start from its pixels.
    private var background: (surface: CairoSurface, keys: [ItemKey])?
    /// Where repainted rectangles are drawn before they are copied to `surface`.
    private var scratch: CairoSurface?
    /// How many leading items make the background layer (nil: as many as two frames share).
    let backgroundItems: Int?
    /// Frames painted in full and incrementally (for tests and the benchmark).
    private(set) var fullPaints = 0, partialPaints = 0
    /// The pixel rectangles repainted since ``takeChanges()`` was last called (nil: anything may
    /// have changed: nothing taken yet, a full paint, a failed one).
    private var changes: [PixelRect]?
    /// Encodes this painter's frames as PNG, recompressing only the bands that changed.
    let png = BandedPNGEncoder()
    /// Repaint everything when the changed area passes this share of the picture.
    static let fullRepaintShare = 0.5

    init(painter: Painter, scale: Double, backgroundItems: Int? = nil) {
        self.painter = painter
        self.scale = scale
        self.backgroundItems = backgroundItems
    }

    struct PaintedItem {
        var key: ItemKey
        var bounds: PixelRect
    }

    /// An integer rectangle of pixels `[x0, x1) × [y0, y1)`.
    struct PixelRect: Equatable {
        var x0: Int, y0: Int, x1: Int, y1: Int
        var isEmpty: Bool { x0 >= x1 || y0 >= y1 }
        var area: Int { isEmpty ? 0 : (x1 - x0) * (y1 - y0) }
        func intersects(_ o: PixelRect) -> Bool { x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1 }
    }

    /// The surface with `drawing` painted on it (valid until the next call).
    func paint(_ drawing: Drawing) throws(RenderError) -> CairoSurface {
        let px = painter.diagram.pixelSize(scale: scale)
        let sx = Double(px.width) / drawing.width, sy = Double(px.height) / drawing.height
        let items = drawing.items.map { PaintedItem(key: ItemKey($0), bounds: Self.pixelBounds($0, sx: sx, sy: sy, width: px.width, height: px.height)) }
        // Until this paint succeeds nothing is known to be on the surface (a failed paint leaves
        // `painted` empty, so the next one paints everything).
        let old = painted, before = changes
        painted = []
        changes = nil
        let (s, dirty) = try paint(drawing, items: items, over: old, sx: sx, sy: sy)
        painted = items
        // Past a few thousand rectangles, "anything" is as good and keeps the list small.
        if let before, let dirty, before.count + dirty.count <= 4096 { changes = before + dirty }
        return s
    }

    /// The pixel rectangles repainted since the last call (nil: anything may have changed), and
    /// starts a new record. The PNG of the surface is encoded from these (``png``).
    func takeChanges() -> [PixelRect]? {
        defer { changes = [] }
        return changes
    }

    /// The PNG of `drawing` at PNG `compression`, painted over the frame before; the bytes
    /// ``PNGEncoder`` gives for the surface, encoded from the bands that changed when the level
    /// uses ``BandedPNGEncoder`` (frames do).
    func pngFrame(_ drawing: Drawing, compression: Int32) throws(RenderError) -> [UInt8] {
        let surface = try paint(drawing)
        let changed = takeChanges()
        let s = surface.pointer
        let width = Int(cairo_image_surface_get_width(s)), height = Int(cairo_image_surface_get_height(s))
        guard PNGEncoder.encodesInBands(compression: compression, pixels: width * height) else {
            return try PNGEncoder.encode(surface: s, compression: compression)
        }
        guard let data = cairo_image_surface_get_data(s) else { throw RenderError.cairo("image surface has no pixels") }
        return png.encode(pixels: data, width: width, height: height, stride: Int(cairo_image_surface_get_stride(s)), changed: changed)
    }

    /// The painted surface and the rectangles repainted on it (nil: all of it).
    private func paint(_ drawing: Drawing, items: [PaintedItem], over old: [PaintedItem], sx: Double, sy: Double) throws(RenderError) -> (CairoSurface, [PixelRect]?) {
        let px = painter.diagram.pixelSize(scale: scale)
        guard let surface, !old.isEmpty else { return (try paintAll(drawing, sx: sx, sy: sy), nil) }
        // The background layer: the canvas and the leading items every frame shares (title, clusters).
        if let layer = background, layer.keys.count > items.count || !zip(layer.keys, items).allSatisfy({ $0 == $1.key }) { background = nil }
        if background == nil {
            var shared = 0
            let wanted = min(backgroundItems ?? items.count, old.count, items.count)
            while shared < wanted && old[shared].key == items[shared].key { shared += 1 }
            var prefix = drawing
            prefix.items = Array(drawing.items[0..<shared])
            let s = try painter.image(prefix, scale: scale)
            background = (s, items[0..<shared].map(\.key))
        }
        guard let layer = background else { return (try paintAll(drawing, sx: sx, sy: sy), nil) }
        let base = layer.keys.count
        guard let dirty = dirtyRects(old: old[base...], new: items[base...], width: px.width, height: px.height) else {
            return (try paintAll(drawing, sx: sx, sy: sy), nil)
        }
        partialPaints += 1
        guard !dirty.isEmpty else { return (surface, []) }
        // On the scratch surface: the background layer's pixels in each rectangle, then every item
        // that reaches a rectangle, unclipped (so each is drawn exactly as in a full paint), then
        // the rectangles copied to the surface. Outside the rectangles the scratch is never read.
        let scratchSurface: CairoSurface
        if let s = scratch {
            scratchSurface = s
        } else {
            scratchSurface = try CairoSurface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(px.width), Int32(px.height)),
                                              what: "a \(px.width) × \(px.height) image")
            scratch = scratchSurface
        }
        cairo_surface_flush(scratchSurface.pointer)
        Self.copy(dirty, from: layer.surface.pointer, to: scratchSurface.pointer)
        cairo_surface_mark_dirty(scratchSurface.pointer)
        do {
            let cr = try CairoContext(scratchSurface)
            cairo_scale(cr.pointer, sx, sy)
            var reaching: [Drawing.Item] = []
            for k in base..<items.count where dirty.contains(where: { items[k].bounds.intersects($0) }) {
                reaching.append(drawing.items[k])
            }
            Drawing.replay(reaching, on: cr.pointer, text: painter.text, frame: nil)
        }
        cairo_surface_flush(scratchSurface.pointer)
        cairo_surface_flush(surface.pointer)
        let changed = Self.copyChanges(dirty, from: scratchSurface.pointer, to: surface.pointer)
        cairo_surface_mark_dirty(surface.pointer)
        return (surface, changed)
    }

    /// Copies the pixels of `rects` between two image surfaces of one size, and returns where
    /// they changed: for each rectangle, its runs of rows that differ (an item repainted in the
    /// same colours, or a tall curve's box, changes fewer rows than its bounds hold).
    static func copyChanges(_ rects: [PixelRect], from source: OpaquePointer, to target: OpaquePointer) -> [PixelRect] {
        guard let src = cairo_image_surface_get_data(source), let dst = cairo_image_surface_get_data(target) else { return rects }
        let stride = Int(cairo_image_surface_get_stride(target))
        var changed: [PixelRect] = []
        for r in rects where !r.isEmpty {
            let bytes = 4 * (r.x1 - r.x0)
            var run: Int?
            for y in r.y0..<r.y1 {
                let from = src + y * stride + 4 * r.x0, to = dst + y * stride + 4 * r.x0
                if memcmp(from, to, bytes) != 0 {
                    to.update(from: from, count: bytes)
                    if run == nil { run = y }
                } else if let start = run {
                    changed.append(PixelRect(x0: r.x0, y0: start, x1: r.x1, y1: y))
                    run = nil
                }
            }
            if let start = run { changed.append(PixelRect(x0: r.x0, y0: start, x1: r.x1, y1: r.y1)) }
        }
        return changed
    }

    /// Copies the pixels of `rects` between two image surfaces of one size.
    static func copy(_ rects: [PixelRect], from source: OpaquePointer, to target: OpaquePointer) {
        guard let src = cairo_image_surface_get_data(source), let dst = cairo_image_surface_get_data(target) else { return }
        let stride = Int(cairo_image_surface_get_stride(target))
        for r in rects where !r.isEmpty {
            for y in r.y0..<r.y1 { (dst + y * stride + 4 * r.x0).update(from: src + y * stride + 4 * r.x0, count: 4 * (r.x1 - r.x0)) }
        }
    }

    /// The whole drawing painted on the surface (made on first use).
    private func paintAll(_ drawing: Drawing, sx: Double, sy: Double) throws(RenderError) -> CairoSurface {
        fullPaints += 1
        if let s = surface {
            let cr = try CairoContext(s)
            cairo_scale(cr.pointer, sx, sy)
            drawing.replay(on: cr.pointer, text: painter.text)
            cairo_surface_flush(s.pointer)
            return s
        }
        let s = try painter.image(drawing, scale: scale)
        surface = s
        return s
    }

    /// The pixel rectangles to repaint to turn `old` into `new`, or nil when most of the picture
    /// changed (a full repaint is then cheaper).
    ///
    /// Items are matched by equality (the n-th copy of an item in `old` with its n-th copy in
    /// `new`); the longest run of matched items painted in the same order in both stays, and the
    /// bounds of every other item (gone, new, changed or moved in the painting order) are repainted.
    /// A pixel outside those bounds is covered by the same items in the same order in both.
    func dirtyRects(old: ArraySlice<PaintedItem>, new: ArraySlice<PaintedItem>, width: Int, height: Int) -> [PixelRect]? {
        let old = Array(old), new = Array(new)
        // Each distinct old item's first position, and a chain through its later copies.
        var first: [ItemKey: Int] = [:]
        first.reserveCapacity(old.count)
        var nextCopy = [Int](repeating: -1, count: old.count), lastCopy = [Int](repeating: -1, count: old.count)
        for (k, i) in old.enumerated() {
            if let f = first[i.key] {
                nextCopy[lastCopy[f]] = k
                lastCopy[f] = k
            } else {
                first[i.key] = k
                lastCopy[k] = k
            }
        }
        // The n-th copy of an item in `new` matches its n-th copy in `old`.
        var used = [Bool](repeating: false, count: old.count)
        var oldIndexOfNew = [Int](repeating: -1, count: new.count)
        for (k, i) in new.enumerated() {
            var c = first[i.key] ?? -1
            while c >= 0 && used[c] { c = nextCopy[c] }
            if c >= 0 { used[c] = true; oldIndexOfNew[k] = c }
        }
        // The longest increasing run of old positions, in new order (patience sorting).
        var tails: [Int] = [], tailNew: [Int] = []
        var previous = [Int](repeating: -1, count: new.count)
        for k in new.indices where oldIndexOfNew[k] >= 0 {
            let v = oldIndexOfNew[k]
            var lo = 0, hi = tails.count
            while lo < hi { let mid = (lo + hi) / 2; if tails[mid] < v { lo = mid + 1 } else { hi = mid } }
            previous[k] = lo > 0 ? tailNew[lo - 1] : -1
            if lo == tails.count { tails.append(v); tailNew.append(k) } else { tails[lo] = v; tailNew[lo] = k }
        }
        var stayNew = [Bool](repeating: false, count: new.count), stayOld = [Bool](repeating: false, count: old.count)
        var k = tailNew.last ?? -1
        while k >= 0 { stayNew[k] = true; stayOld[oldIndexOfNew[k]] = true; k = previous[k] }
        var rects: [PixelRect] = []
        for (k, i) in old.enumerated() where !stayOld[k] && !i.bounds.isEmpty { rects.append(i.bounds) }
        for (k, i) in new.enumerated() where !stayNew[k] && !i.bounds.isEmpty { rects.append(i.bounds) }
        rects = Self.merged(rects)
        let area = rects.reduce(0) { $0 + $1.area }
        if Double(area) > Self.fullRepaintShare * Double(width * height) { return nil }
        return rects
    }

    /// Rectangles merged while two overlap or their union is barely larger than both (fewer, larger clip rectangles).
    static func merged(_ input: [PixelRect]) -> [PixelRect] {
        var rects = input
        var changed = true
        while changed {
            changed = false
            var i = 0
            while i < rects.count {
                var j = i + 1
                while j < rects.count {
                    let a = rects[i], b = rects[j]
                    let u = PixelRect(x0: min(a.x0, b.x0), y0: min(a.y0, b.y0), x1: max(a.x1, b.x1), y1: max(a.y1, b.y1))
                    if a.intersects(b) || u.area <= a.area + b.area + 4096 {
                        rects[i] = u
                        rects.remove(at: j)
                        changed = true
                    } else {
                        j += 1
                    }
                }
                i += 1
            }
        }
        return rects
    }

    // MARK: bounds

    /// A conservative pixel bound of everything `item` can paint (antialiasing, stroke widths,
    /// miter joins and glyph overhangs included), clamped to the picture.
    static func pixelBounds(_ item: Drawing.Item, sx: Double, sy: Double, width: Int, height: Int) -> PixelRect {
        guard let b = pointBounds(item) else { return PixelRect(x0: 0, y0: 0, x1: 0, y1: 0) }
        /// A pixel coordinate, clamped well inside Int's range (infinite bounds cover the picture).
        func pixel(_ v: Double, _ rule: FloatingPointRoundingRule) -> Int {
            guard !v.isNaN else { return 0 }
            return Int(max(-1e9, min(1e9, v.rounded(rule))))
        }
        let r = PixelRect(x0: max(0, pixel(b.x0 * sx, .down) - 2), y0: max(0, pixel(b.y0 * sy, .down) - 2),
                          x1: min(width, pixel(b.x1 * sx, .up) + 2), y1: min(height, pixel(b.y1 * sy, .up) + 2))
        return r.isEmpty ? PixelRect(x0: 0, y0: 0, x1: 0, y1: 0) : r
    }

    static func pointBounds(_ item: Drawing.Item) -> (x0: Double, y0: Double, x1: Double, y1: Double)? {
        func finite(_ v: Double...) -> Bool { v.allSatisfy(\.isFinite) }
        switch item {
        case .box(let b):
            let m = (b.stroke?.width ?? 0) / 2 + 1
            guard finite(b.x, b.y, b.width, b.height, m) else { return (-.infinity, -.infinity, .infinity, .infinity) }
            return (min(b.x, b.x + b.width) - m, min(b.y, b.y + b.height) - m, max(b.x, b.x + b.width) + m, max(b.y, b.y + b.height) + m)
        case .cell(let c):
            guard finite(c.x, c.y, c.width, c.height) else { return (-.infinity, -.infinity, .infinity, .infinity) }
            return (min(c.x, c.x + c.width) - 1, min(c.y, c.y + c.height) - 1, max(c.x, c.x + c.width) + 1, max(c.y, c.y + c.height) + 1)
        case .curve(let c):
            // Butt caps; a miter join reaches at most 10 half-widths (Cairo's default limit) from the path.
            let m = 5 * c.stroke.width + 1
            return hull(c.pieces.joined(), margin: m)
        case .polygon(let p):
            return hull(p.points[...], margin: 1)
        case .text(let t):
            guard finite(t.x, t.y, t.width, t.size) else { return (-.infinity, -.infinity, .infinity, .infinity) }
            return (t.x - t.size, t.y - t.size, t.x + t.width + t.size, t.y + 3 * t.size)
        case .group(let g):
            var out: (x0: Double, y0: Double, x1: Double, y1: Double)?
            for i in g.items {
                guard let b = pointBounds(i) else { continue }
                out = out.map { (min($0.x0, b.x0), min($0.y0, b.y0), max($0.x1, b.x1), max($0.y1, b.y1)) } ?? b
            }
            return out
        }
    }

    static func hull<S: Sequence>(_ points: S, margin: Double) -> (x0: Double, y0: Double, x1: Double, y1: Double)? where S.Element == Point {
        var x0 = Double.infinity, y0 = Double.infinity, x1 = -Double.infinity, y1 = -Double.infinity
        for p in points {
            guard p.x.isFinite, p.y.isFinite else { return (-.infinity, -.infinity, .infinity, .infinity) }
            x0 = min(x0, p.x); y0 = min(y0, p.y); x1 = max(x1, p.x); y1 = max(y1, p.y)
        }
        guard x0 <= x1, margin.isFinite else { return x0 <= x1 ? (-.infinity, -.infinity, .infinity, .infinity) : nil }
        return (x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    }
}

/// A drawing item as a dictionary key: equal keys paint equal pixels. Groups never compare
/// equal (frames have none; a group always counts as changed).
struct ItemKey: Hashable {
    let item: Drawing.Item
    private let serial: Int
    /// A hash of the item's kind, position and size, made once (equal items hash equal; the
    /// text and points are compared only when two items' hashes agree).
    private let digest: Int

    private static let counter = GroupSerial()

    init(_ item: Drawing.Item) {
        self.item = item
        if case .group = item { serial = Self.counter.next() } else { serial = 0 }
        var h = Hasher()
        switch item {
        case .box(let x): h.combine(0); h.combine(x.x); h.combine(x.y); h.combine(x.width); h.combine(x.fill?.color.r); h.combine(x.stroke?.color.r)
        case .cell(let x): h.combine(1); h.combine(x.x); h.combine(x.y); h.combine(x.fill.color.r)
        case .curve(let x): h.combine(2); h.combine(x.pieces.first?.first?.x); h.combine(x.pieces.last?.last?.y); h.combine(x.stroke.color.r); h.combine(x.stroke.width)
        case .polygon(let x): h.combine(3); h.combine(x.points.first?.x); h.combine(x.points.first?.y); h.combine(x.fill.color.r)
        case .text(let x): h.combine(4); h.combine(x.x); h.combine(x.y); h.combine(x.width); h.combine(x.color.r); h.combine(x.text.utf8.count)
        case .group: h.combine(5); h.combine(serial)
        }
        digest = h.finalize()
    }

    static func == (a: ItemKey, b: ItemKey) -> Bool {
        guard a.digest == b.digest else { return false }
        switch (a.item, b.item) {
        case (.box(let x), .box(let y)): return x == y
        case (.cell(let x), .cell(let y)): return x == y
        case (.curve(let x), .curve(let y)): return x == y
        case (.polygon(let x), .polygon(let y)): return x == y
        case (.text(let x), .text(let y)): return x == y
        case (.group, .group): return a.serial == b.serial
        default: return false
        }
    }

    func hash(into h: inout Hasher) { h.combine(digest) }
}

/// Distinct numbers for group keys (so no two groups match).
final class GroupSerial: @unchecked Sendable {
    private let lock = NSLockShim()
    private var value = 0
    func next() -> Int { lock.with { value += 1; return value } }
}

extension FrameSet {
    /// The number of leading items the first and the last frame share (title, clusters): a
    /// worker paints them once, as the background layer of its frames.
    func backgroundItemCount(_ painter: Painter) -> Int {
        let first = painter.builder.drawing(diagram.scene(step: 0)).items
        let last = painter.builder.drawing(diagram.scene(step: diagram.stepCount)).items
        var n = 0
        while n < min(first.count, last.count) && ItemKey(first[n]) == ItemKey(last[n]) { n += 1 }
        return n
    }

    /// Self-check of incremental repainting (tests and `gradtrace-bench frames-check`): paints
    /// the frames in `order` (default: all, in order) on one ``FramePainter`` and compares each
    /// with a full paint of the same frame. Returns how many were painted incrementally and the
    /// frames whose pixels differ (none, or repainting is broken). With `GRADTRACE_DEBUG_REPAINT`
    /// set, a difference is described (where, and the items over its first pixel).
    public func repaintCheck(order: [Int]? = nil) throws(RenderError) -> (partial: Int, mismatched: [Int]) {
        let painter = Painter(diagram: diagram)
        let frames = FramePainter(painter: painter, scale: scale, backgroundItems: backgroundItemCount(painter))
        var mismatched: [Int] = []
        for k in order ?? Array(0...diagram.stepCount) {
            let drawing = painter.builder.drawing(diagram.scene(step: k))
            let full = try painter.image(drawing, scale: scale)
            let partial = try frames.paint(drawing)
            if !Self.samePixels(full.pointer, partial.pointer) {
                mismatched.append(k)
                if ProcessInfo.processInfo.environment["GRADTRACE_DEBUG_REPAINT"] != nil {
                    let (qx, qy) = Self.describeDifference(full.pointer, partial.pointer)
                    let px = diagram.pixelSize(scale: scale)
                    let sx = Double(px.width) / drawing.width, sy = Double(px.height) / drawing.height
                    for item in drawing.items {
                        let b = FramePainter.pixelBounds(item, sx: sx, sy: sy, width: px.width, height: px.height)
                        if b.intersects(FramePainter.PixelRect(x0: qx, y0: qy, x1: qx + 1, y1: qy + 1)) { print("   covers: \(b) \(item)".prefix(300)) }
                    }
                    if mismatched.count > 1 { break }
                }
            }
        }
        return (frames.partialPaints, mismatched)
    }

    @discardableResult
    static func describeDifference(_ a: OpaquePointer, _ b: OpaquePointer) -> (Int, Int) {
        let w = Int(cairo_image_surface_get_width(a)), h = Int(cairo_image_surface_get_height(a))
        let pa = cairo_image_surface_get_data(a)!, pb = cairo_image_surface_get_data(b)!
        let sa = Int(cairo_image_surface_get_stride(a))
        var n = 0, x0 = w, y0 = h, x1 = 0, y1 = 0
        var samples: [String] = []
        for y in 0..<h {
            let ra = UnsafeRawPointer(pa + y * sa).assumingMemoryBound(to: UInt32.self)
            let rb = UnsafeRawPointer(pb + y * sa).assumingMemoryBound(to: UInt32.self)
            for x in 0..<w where ra[x] & 0x00FF_FFFF != rb[x] & 0x00FF_FFFF {
                n += 1; x0 = min(x0, x); y0 = min(y0, y); x1 = max(x1, x); y1 = max(y1, y)
                if samples.count < 5 { samples.append("(\(x),\(y)) full \(String(ra[x], radix: 16)) partial \(String(rb[x], radix: 16))") }
            }
        }
        print("  \(n) pixels differ in x \(x0)...\(x1), y \(y0)...\(y1): \(samples)")
        return (x0, y0)
    }

    static func samePixels(_ a: OpaquePointer, _ b: OpaquePointer) -> Bool {
        let w = Int(cairo_image_surface_get_width(a)), h = Int(cairo_image_surface_get_height(a))
        guard w == Int(cairo_image_surface_get_width(b)), h == Int(cairo_image_surface_get_height(b)),
              let pa = cairo_image_surface_get_data(a), let pb = cairo_image_surface_get_data(b) else { return false }
        let sa = Int(cairo_image_surface_get_stride(a)), sb = Int(cairo_image_surface_get_stride(b))
        for y in 0..<h {
            let ra = UnsafeRawPointer(pa + y * sa).assumingMemoryBound(to: UInt32.self)
            let rb = UnsafeRawPointer(pb + y * sb).assumingMemoryBound(to: UInt32.self)
            for x in 0..<w where ra[x] & 0x00FF_FFFF != rb[x] & 0x00FF_FFFF { return false }
        }
        return true
    }
}
