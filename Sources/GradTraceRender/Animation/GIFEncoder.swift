import CImageCodecs

/// An animated GIF written frame by frame through giflib's LZW coder, looping forever.
///
/// Each frame is the rectangle that changed since the frame before (``FrameDifference``), drawn over
/// it (disposal "leave in place"), its unchanged pixels a transparent index. Each rectangle carries its
/// own colour table (``GIFPalette``): the rectangle's colours exactly when there are at most 255 of
/// them, which is the common case for a step's change; otherwise every frequent colour exactly and each
/// rarer one (antialiased edges) mapped to its nearest. So the picture's fills, the background and the
/// state colours are never changed. Only the encoded bytes are kept: memory is bounded by one frame.
final class GIFWriter {
    let width: Int, height: Int
    private final class Sink { var bytes: [UInt8] = [] }
    private let sink = Sink()
    private let box: Unmanaged<Sink>
    private var gif: UnsafeMutablePointer<GifFileType>?

    init(width: Int, height: Int) throws(RenderError) {
        self.width = width
        self.height = height
        box = Unmanaged.passRetained(sink)
        var err: Int32 = 0
        gif = EGifOpen(box.toOpaque(), { gif, data, length in
            guard let gif, let data, let user = gif.pointee.UserData else { return 0 }
            Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue().bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return length
        }, &err)
        guard let gif else { box.release(); throw RenderError.unsupported("giflib could not start (error \(err))") }
        EGifSetGifVersion(gif, true)
        guard EGifPutScreenDesc(gif, Int32(width), Int32(height), 8, 0, nil) == GIF_OK else {
            throw RenderError.unsupported("giflib: screen descriptor")
        }
        // NETSCAPE2.0: loop forever.
        EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE)
        var app = Array("NETSCAPE2.0".utf8)
        EGifPutExtensionBlock(gif, 11, &app)
        var loop: [UInt8] = [1, 0, 0]
        EGifPutExtensionBlock(gif, 3, &loop)
        EGifPutExtensionTrailer(gif)
    }

    deinit {
        if let gif { var err: Int32 = 0; EGifCloseFile(gif, &err) }
        box.release()
    }

    /// Adds one frame: a changed region, shown `delay` hundredths of a second.
    func add(_ region: FrameDifference.Region, delay: Int) throws(RenderError) {
        guard let gif else { throw RenderError.unsupported("giflib: the GIF is already finished") }
        let palette = GIFPalette(region)
        var gcb = GraphicsControlBlock(DisposalMode: DISPOSE_DO_NOT, UserInputFlag: false, DelayTime: Int32(delay),
                                       TransparentColor: palette.transparent.map(Int32.init) ?? NO_TRANSPARENT_COLOR)
        var ext = [UInt8](repeating: 0, count: 4)
        let n = EGifGCBToExtension(&gcb, &ext)
        EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, Int32(n), &ext)
        var colours = palette.colours.map { GifColorType(Red: UInt8(truncatingIfNeeded: $0 >> 16), Green: UInt8(truncatingIfNeeded: $0 >> 8), Blue: UInt8(truncatingIfNeeded: $0)) }
        // giflib wants a power of two entries.
        var size = 2
        while size < colours.count { size *= 2 }
        colours += [GifColorType](repeating: GifColorType(), count: size - colours.count)
        guard let map = GifMakeMapObject(Int32(size), &colours) else { throw RenderError.unsupported("giflib: colour map") }
        defer { GifFreeMapObject(map) }
        guard EGifPutImageDesc(gif, Int32(region.x), Int32(region.y), Int32(region.width), Int32(region.height), false, map) == GIF_OK else {
            throw RenderError.unsupported("giflib: image descriptor")
        }
        var indices = palette.indices
        let w = region.width
        let ok = indices.withUnsafeMutableBufferPointer { buf -> Bool in
            for y in 0..<region.height where EGifPutLine(gif, buf.baseAddress! + y * w, Int32(w)) != GIF_OK { return false }
            return true
        }
        guard ok else { throw RenderError.unsupported("giflib: writing pixels failed") }
    }

    /// Ends the file and returns its bytes.
    func finish() throws(RenderError) -> [UInt8] {
        guard let g = gif else { return sink.bytes }
        gif = nil
        var err: Int32 = 0
        guard EGifCloseFile(g, &err) == GIF_OK else { throw RenderError.unsupported("giflib: closing failed (error \(err))") }
        return sink.bytes
    }
}

/// The colour table of one GIF frame and its pixels as indices into it.
///
/// At most 255 colours (plus a transparent index when some pixels are unchanged) are kept exactly.
/// Past that, the table is chosen greedily: each next entry is the colour with the largest
/// `pixels × squared distance to the nearest entry chosen so far` (so flat fills, which cover many
/// pixels, come first and are exact, and the rest spreads over the antialiased shades), and every
/// colour maps to its nearest entry. Integer arithmetic and fixed tie-breaks: the same pixels always
/// give the same table.
struct GIFPalette {
    /// `0x00RRGGBB` entries.
    var colours: [UInt32] = []
    /// The transparent entry, when some pixels are unchanged.
    var transparent: Int?
    /// One index per pixel of the region.
    var indices: [UInt8]

    init(_ region: FrameDifference.Region) {
        let px = region.pixels
        let table = ColourCounts(px)
        let slots = region.hasUnchanged ? 255 : 256
        var list = table.entries()  // (colour, count), sorted by count descending, then colour
        if list.count <= slots {
            colours = list.map(\.colour)
        } else {
            colours = Self.choose(&list, slots: slots)
        }
        // Each distinct colour's entry.
        var index = ColourIndex(capacity: list.count)
        if list.count <= slots {
            for (i, e) in list.enumerated() { index.set(e.colour, UInt8(i)) }
        } else {
            for e in list { index.set(e.colour, UInt8(Self.nearest(e.colour, in: colours))) }
        }
        if region.hasUnchanged {
            transparent = colours.count
            colours.append(0)
        }
        let t = UInt8(truncatingIfNeeded: transparent ?? 0)
        indices = [UInt8](unsafeUninitializedCapacity: px.count) { out, initialized in
            var last: UInt32 = FrameDifference.unchanged, lastIndex = t
            for i in 0..<px.count {
                let c = px[i]
                if c != last { last = c; lastIndex = c == FrameDifference.unchanged ? t : index.get(c) }
                out[i] = lastIndex
            }
            initialized = px.count
        }
    }

    static func distance(_ a: UInt32, _ b: UInt32) -> Int {
        let dr = Int((a >> 16) & 0xFF) - Int((b >> 16) & 0xFF)
        let dg = Int((a >> 8) & 0xFF) - Int((b >> 8) & 0xFF)
        let db = Int(a & 0xFF) - Int(b & 0xFF)
        return dr * dr + dg * dg + db * db
    }

    static func nearest(_ c: UInt32, in palette: [UInt32]) -> Int {
        var best = 0, bestD = Int.max
        for (i, p) in palette.enumerated() {
            let d = distance(c, p)
            if d < bestD { best = i; bestD = d; if d == 0 { break } }
        }
        return best
    }

    /// The greedy choice of `slots` entries from colours sorted by count.
    static func choose(_ list: inout [ColourCounts.Entry], slots: Int) -> [UInt32] {
        let far = 3 * 255 * 255 + 1
        var d = [Int](repeating: far, count: list.count)
        var chosen: [UInt32] = []
        chosen.reserveCapacity(slots)
        for _ in 0..<slots {
            var best = -1, bestScore = 0
            for i in list.indices where d[i] > 0 {
                let score = list[i].count * d[i]
                if score > bestScore { best = i; bestScore = score }
            }
            if best < 0 { break }
            let c = list[best].colour
            chosen.append(c)
            for i in list.indices where d[i] > 0 { d[i] = min(d[i], distance(list[i].colour, c)) }
        }
        return chosen
    }
}

/// Pixel counts per colour (open addressing; runs of one colour counted at once).
struct ColourCounts {
    struct Entry { var colour: UInt32; var count: Int }
    private var keys: [UInt32]
    private var counts: [Int]
    private var mask: Int
    private(set) var distinct = 0

    init(_ px: [UInt32]) {
        var cap = 1024
        keys = [UInt32](repeating: FrameDifference.unchanged, count: cap)
        counts = [Int](repeating: 0, count: cap)
        mask = cap - 1
        var i = 0
        while i < px.count {
            let c = px[i]
            var j = i + 1
            while j < px.count && px[j] == c { j += 1 }
            if c != FrameDifference.unchanged {
                if 2 * (distinct + 1) > cap {
                    cap *= 2
                    rehash(cap)
                }
                add(c, j - i)
            }
            i = j
        }
    }

    @inline(__always) static func slot(_ c: UInt32, _ mask: Int) -> Int { Int((c &* 0x9E37_79B1) >> 7) & mask }

    private mutating func add(_ c: UInt32, _ n: Int) {
        var s = Self.slot(c, mask)
        while true {
            if keys[s] == c { counts[s] += n; return }
            if keys[s] == FrameDifference.unchanged { keys[s] = c; counts[s] = n; distinct += 1; return }
            s = (s + 1) & mask
        }
    }

    private mutating func rehash(_ cap: Int) {
        let old = zip(keys, counts).filter { $0.0 != FrameDifference.unchanged }
        keys = [UInt32](repeating: FrameDifference.unchanged, count: cap)
        counts = [Int](repeating: 0, count: cap)
        mask = cap - 1
        distinct = 0
        for (k, n) in old { add(k, n) }
    }

    /// Every colour with its count: most pixels first, then by colour value.
    func entries() -> [Entry] {
        var out: [Entry] = []
        out.reserveCapacity(distinct)
        for (k, n) in zip(keys, counts) where k != FrameDifference.unchanged { out.append(Entry(colour: k, count: n)) }
        out.sort { $0.count != $1.count ? $0.count > $1.count : $0.colour < $1.colour }
        return out
    }
}

/// Colour → palette index (open addressing).
struct ColourIndex {
    private var keys: [UInt32]
    private var values: [UInt8]
    private let mask: Int

    init(capacity: Int) {
        var cap = 16
        while cap < 2 * capacity { cap *= 2 }
        keys = [UInt32](repeating: FrameDifference.unchanged, count: cap)
        values = [UInt8](repeating: 0, count: cap)
        mask = cap - 1
    }

    mutating func set(_ c: UInt32, _ v: UInt8) {
        var s = ColourCounts.slot(c, mask)
        while keys[s] != FrameDifference.unchanged && keys[s] != c { s = (s + 1) & mask }
        keys[s] = c
        values[s] = v
    }

    func get(_ c: UInt32) -> UInt8 {
        var s = ColourCounts.slot(c, mask)
        while keys[s] != c {
            if keys[s] == FrameDifference.unchanged { return 0 }
            s = (s + 1) & mask
        }
        return values[s]
    }
}
