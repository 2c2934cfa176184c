import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The HTML player and the animated SVG in headless Chromium: fit to the window at two sizes,
/// the keyboard, `#step=K`, accessibility, reduced motion, and not one network request.
@Suite(.serialized)
struct PlayerBrowserTests {
    func folder(_ name: String) throws -> URL {
        let d = try scratchDirectory().appendingPathComponent("browser-" + name, isDirectory: true)
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func chromium() throws -> String {
        let found = ["chromium", "chromium-browser", "google-chrome"].first { name in
            (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
        }
        return try #require(found, "no Chromium: scripts/test.sh installs Debian's chromium package")
    }

    /// Loads `url` in headless Chromium and returns the DOM after the page's scripts ran.
    func dom(_ url: String, in d: URL, window: (Int, Int) = (1400, 900), extra: [String] = []) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [try chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                       "--user-data-dir=\(d.appendingPathComponent("profile").path)", "--window-size=\(window.0),\(window.1)",
                       "--hide-scrollbars", "--allow-file-access-from-files"] + extra + ["--dump-dom", url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text
    }

    func attribute(_ name: String, in tag: String) -> String? {
        guard let r = tag.range(of: " \(name)=\"") else { return nil }
        let rest = tag[r.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    func tag(_ name: String, in dom: String) -> String? {
        guard let r = dom.range(of: "<\(name)[ >]", options: .regularExpression) else { return nil }
        let rest = dom[r.lowerBound...]
        return rest.firstIndex(of: ">").map { String(rest[...$0]) }
    }

    /// The MLP demo is 1,698 units wide: by default the player fits the width of the steps' active regions
    /// (not the whole picture, which would shrink its text below reading size), and step 1's active node is on screen.
    @Test func fitsTheWindowAtTwoSizes() throws {
        let d = try folder("fit")
        let html = d.appendingPathComponent("mlp.html")
        #expect(try gradtrace(["animate", "samples/mlp-demo.grad", "--collapse", "neuron", "-o", html.path]).status == 0)
        for (w, h) in [(1400, 900), (800, 600)] {
            let page = try dom(html.absoluteString + "#step=1", in: d, window: (w, h))
            let body = try #require(tag("body", in: page))
            #expect(attribute("data-step", in: body) == "1")
            #expect(attribute("data-zoom", in: body) == "fit")
            #expect(attribute("data-active-visible", in: body) == "true", "step 1's active node is off screen at \(w)×\(h)")
            let svg = try #require(tag("svg", in: shownLayout(page)))
            let width = try #require(Double(attribute("width", in: svg) ?? ""))
            let height = try #require(Double(attribute("height", in: svg) ?? ""))
            #expect(width >= Double(w) * 0.5 || height >= Double(h) * 0.5, "fit should fill the window, got \(width)×\(height)")
        }
    }

    /// The part of the player's DOM holding the picture shown: the page carries one layout per rank
    /// direction and hides all but the one chosen for the window.
    func shownLayout(_ page: String) -> String {
        let parts = page.components(separatedBy: "<div class=\"layout\"").dropFirst()
        return parts.first { part in !(part.prefix(while: { $0 != ">" }).contains("display: none")) } ?? page
    }

    /// With `--rankdir auto` the player holds both directions and shows left to right in a wide window,
    /// top to bottom in a tall one (the tensor MLP demo: a chain of 11 layers).
    @Test func picksTheDirectionForTheWindow() throws {
        let d = try folder("direction")
        let html = d.appendingPathComponent("tmlp.html")
        #expect(try gradtrace(["animate", "samples/tensors/mlp-demo.grad", "-o", html.path]).status == 0)
        let text = try String(contentsOf: html, encoding: .utf8)
        #expect(text.contains("data-rankdir=\"LR\"") && text.contains("data-rankdir=\"TB\""))
        for (w, h, want) in [(1800, 450, "LR"), (500, 1400, "TB")] {
            let page = try dom(html.absoluteString + "#step=3", in: d, window: (w, h))
            let body = try #require(tag("body", in: page))
            #expect(attribute("data-rankdir", in: body) == want, "\(w)×\(h)")
            #expect(attribute("data-active-visible", in: body) == "true", "\(w)×\(h)")
            #expect(shownLayout(page).contains("data-rankdir=\"\(want)\""))
        }
        // A direction given on the command line is kept: one picture.
        #expect(try gradtrace(["animate", "samples/tensors/mlp-demo.grad", "--rankdir", "TB", "-o", html.path]).status == 0)
        #expect(try String(contentsOf: html, encoding: .utf8).components(separatedBy: "class=\"layout\"").count == 2)
    }

    /// A collapsed transformer block: a click on the attn node opens its operations in place at the same
    /// step (the module's first operation), arrows walk through them, a click on an operation inside does
    /// nothing, a click on the module's box (outside its nodes) collapses it, and `#step=K&expand=NAME`
    /// opens a module expanded.
    @Test func expandsAModuleInPlace() throws {
        let d = try folder("modules")
        let html = d.appendingPathComponent("tb.html")
        #expect(try gradtrace(["animate", "samples/tensors/transformer-block.grad", "--collapse", "module", "-o", html.path]).status == 0)
        let harness = d.appendingPathComponent("harness.html")
        try Data("""
            <!DOCTYPE html><html><body style="margin:0"><iframe id="f" style="width:1400px;height:900px;border:0" src="tb.html#step=6"></iframe>
            <script>
            document.getElementById("f").onload = function () {
              var f = document.getElementById("f"), doc = f.contentDocument, win = f.contentWindow, out = [];
              var stage = doc.getElementById("stage");
              function shown() { return Array.prototype.filter.call(doc.querySelectorAll(".layout"), function (l) { return l.style.display !== "none"; })[0]; }
              function target(kind, module) { return shown().querySelector(".gt-" + kind + "[data-module='" + module + "']"); }
              function center(b) { return { x: b.left + b.width / 2, y: b.top + b.height / 2 }; }
              function click(p) { stage.dispatchEvent(new win.MouseEvent("click", { clientX: p.x, clientY: p.y, bubbles: true })); }
              function state(name) {
                out.push(name + "=" + doc.body.getAttribute("data-step") + "," + doc.body.getAttribute("data-expanded") + ","
                  + doc.body.getAttribute("data-active-visible") + "," + win.location.hash + "," + doc.getElementById("counter").textContent);
              }
              state("start");
              var node = target("expand", "attn").querySelector("rect").getBoundingClientRect();
              click(center(node)); state("expanded");
              // The module opened where its node was: its exit (attn.out, the step's active node) is where the node was.
              var box = target("collapse", "attn").querySelector("rect").getBoundingClientRect(), p = center(node);
              var svgRect = shown().querySelector("svg").getBoundingClientRect(), k = svgRect.width / shown().querySelector("svg").viewBox.baseVal.width;
              var a = target("collapse", "attn").getAttribute("data-anchor").split(",").map(Number);
              var c = { x: svgRect.left + (a[0] + a[2] / 2) * k, y: svgRect.top + (a[1] + a[3] / 2) * k };
              // (unless the scroll stops at the picture's edge: then the stage is scrolled as far as it goes that way).
              var atEdgeX = c.x > p.x ? stage.scrollLeft >= stage.scrollWidth - stage.clientWidth - 1 : stage.scrollLeft <= 1;
              var atEdgeY = c.y > p.y ? stage.scrollTop >= stage.scrollHeight - stage.clientHeight - 1 : stage.scrollTop <= 1;
              out.push("moved=" + Math.round(Math.abs(c.x - p.x) + Math.abs(c.y - p.y)) + "," + (Math.abs(c.x - p.x) <= 20 || atEdgeX) + "," + (Math.abs(c.y - p.y) <= 20 || atEdgeY));
              doc.body.dispatchEvent(new win.KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true })); state("next");
              // A click on an operation inside the box does not collapse it.
              var r = shown().querySelector("svg").getBoundingClientRect(), scale = r.width / shown().querySelector("svg").viewBox.baseVal.width;
              var inner = target("collapse", "attn").getAttribute("data-inner").split(";")[0].split(",").map(Number);
              click({ x: r.left + (inner[0] + inner[2] / 2) * scale, y: r.top + (inner[1] + inner[3] / 2) * scale }); state("inner");
              // Hovering the box outside its nodes outlines it.
              var corner = { x: box.right - 6, y: box.top + 6 };
              win.dispatchEvent(new win.PointerEvent("pointermove", { clientX: corner.x, clientY: corner.y, bubbles: true }));
              out.push("hover=" + target("collapse", "attn").classList.contains("hover") + "," + stage.classList.contains("on-target"));
              click(corner); state("collapsed");
              document.body.setAttribute("data-results", out.join("|"));
            };
            </script></body></html>
            """.utf8).write(to: harness)
        let page = try dom(harness.absoluteString, in: d, window: (1400, 900)).replacingOccurrences(of: "&amp;", with: "&")
        let body = try #require(tag("body", in: page))
        let results = try #require(attribute("data-results", in: body), "the harness did not run: \(body)")
        var r: [String: [String]] = [:]
        for item in results.split(separator: "|") {
            let parts = item.split(separator: "=", maxSplits: 1)
            r[String(parts[0])] = parts[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        // Collapsed step 6 is attn's (full steps 8…16); expanded, step 6 is its first operation, of 15 steps.
        #expect(r["start"] == ["6", "", "true", "#step=6", "step 6 / 7"], "\(r["start"] ?? [])")
        #expect(r["expanded"] == ["6", "attn", "true", "#step=6&expand=attn", "step 6 / 15"], "\(r["expanded"] ?? [])")
        #expect(r["moved"]?.dropFirst() == ["true", "true"], "the module did not open in place: \(r["moved"] ?? [])")
        #expect(r["next"]?.prefix(3) == ["7", "attn", "true"], "\(r["next"] ?? [])")
        #expect(r["inner"]?.prefix(2) == ["7", "attn"], "\(r["inner"] ?? [])")
        #expect(r["hover"] == ["true", "true"])
        // Collapsing at attn's second operation returns to attn's step.
        #expect(r["collapsed"] == ["6", "", "true", "#step=6", "step 6 / 7"], "\(r["collapsed"] ?? [])")
        // A deep link opens the module expanded.
        let linked = try dom(html.absoluteString + "#step=9&expand=mlp", in: d)
        let b = try #require(tag("body", in: linked))
        #expect(attribute("data-expanded", in: b) == "mlp" && attribute("data-step", in: b) == "9")
        #expect(shownLayout(linked).contains("data-view=\"2\""))
    }

    /// Keys through a page that holds the player in a frame and sends it key presses.
    @Test func keyboard() throws {
        let d = try folder("keys")
        let html = d.appendingPathComponent("player.html")
        #expect(try gradtrace(["animate", "samples/mlp-demo.grad", "--collapse", "neuron", "-o", html.path]).status == 0)
        let harness = d.appendingPathComponent("harness.html")
        let script = """
            <!DOCTYPE html><html><body><iframe id="f" style="width:900px;height:600px" src="player.html#step=0"></iframe>
            <script>
            document.getElementById("f").onload = function () {
              var f = document.getElementById("f"), doc = f.contentDocument, win = f.contentWindow, out = [];
              function key(target, k) { target.dispatchEvent(new win.KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true })); }
              function state(name) {
                out.push(name + "=" + doc.body.getAttribute("data-step") + "," + doc.getElementById("play").textContent + ","
                  + doc.body.getAttribute("data-zoom") + "," + doc.body.getAttribute("data-active-visible"));
              }
              key(doc.body, "ArrowRight"); state("right");
              key(doc.body, "End"); state("end");
              key(doc.body, "Home"); state("home");
              var next = doc.getElementById("next"); next.focus();
              key(next, " "); state("space-on-button");
              key(doc.getElementById("slider"), "ArrowRight"); state("arrow-on-slider");
              doc.activeElement.blur();
              key(doc.body, " "); state("space");
              key(doc.body, " "); state("space-again");
              for (var i = 0; i < 8; i++) { key(doc.body, "+"); }
              key(doc.body, "ArrowRight"); key(doc.body, "ArrowRight"); key(doc.body, "ArrowRight"); state("zoomed");
              key(doc.body, "End"); state("zoomed-end");
              key(doc.body, "0"); state("fit");
              document.body.setAttribute("data-results", out.join(";"));
            };
            </script></body></html>
            """
        try Data(script.utf8).write(to: harness)
        let page = try dom(harness.absoluteString, in: d)
        let body = try #require(tag("body", in: page))
        let results = try #require(attribute("data-results", in: body), "the harness did not run: \(body)")
        var r: [String: [String]] = [:]
        for item in results.split(separator: ";") {
            let parts = item.split(separator: "=", maxSplits: 1)
            r[String(parts[0])] = parts[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        #expect(r["right"]?[0] == "1")
        #expect(r["end"]?[0] == "6" && r["home"]?[0] == "0")
        // Space on a focused button is the button's: it does not also toggle play.
        #expect(r["space-on-button"]?[0] == "0" && r["space-on-button"]?[1] == "▶ play")
        // Arrows on the focused slider move the slider only (no double step).
        #expect(r["arrow-on-slider"]?[0] == "0")
        #expect(r["space"]?[1] == "❚❚ pause" && r["space-again"]?[1] == "▶ play")
        #expect(r["zoomed"]?[2] != "fit" && r["zoomed"]?[3] == "true", "\(r["zoomed"] ?? [])")
        #expect(r["zoomed-end"]?[0] == "6" && r["zoomed-end"]?[3] == "true", "the active node was not scrolled into view")
        #expect(r["fit"]?[2] == "fit")
    }

    /// `#step=K`, the caption shown once, and `role="img"` with the step's caption as its label.
    @Test func stepFromTheAddressAndAccessibility() throws {
        let d = try folder("a11y")
        let html = d.appendingPathComponent("player.html")
        #expect(try gradtrace(["animate", "samples/micrograd-chain.grad", "-o", html.path]).status == 0)
        let page = try dom(html.absoluteString + "#step=2", in: d)
        #expect(attribute("data-step", in: try #require(tag("body", in: page))) == "2")
        let svg = try #require(tag("svg", in: shownLayout(page)))
        #expect(attribute("role", in: svg) == "img")
        let label = try #require(attribute("aria-label", in: svg))
        #expect(label.hasPrefix("step 2 of "))
        // The caption's text is in the picture too, hidden: it shows once, above the picture.
        let hidden = page.components(separatedBy: "caption-in-svg").count - 1
        #expect(hidden >= 4, "the picture's own captions are not hidden (\(hidden))")
        #expect(page.contains("<div id=\"caption\" aria-live=\"polite\">\(label)</div>"))
    }

    /// The animated SVG: role and label, and with reduced motion asked for, no animation.
    @Test func animatedSVGHonoursReducedMotion() throws {
        let d = try folder("motion")
        let svg = d.appendingPathComponent("a.svg")
        #expect(try gradtrace(["animate", "samples/micrograd-chain.grad", "-o", svg.path]).status == 0)
        let text = try String(contentsOf: svg, encoding: .utf8)
        #expect(text.contains("@media (prefers-reduced-motion: reduce)"))
        let open = try #require(tag("svg", in: text))
        #expect(attribute("role", in: open) == "img" && (attribute("aria-label", in: open) ?? "").contains("step 1:"))
        _ = try XMLDocument(data: Data(text.utf8))
        let harness = d.appendingPathComponent("h.html")
        try Data("""
            <!DOCTYPE html><html><body><iframe id="f" src="a.svg"></iframe><script>
            document.getElementById("f").onload = function () {
              var doc = document.getElementById("f").contentDocument;
              var el = doc.querySelector(".s0");
              document.body.setAttribute("data-animation", el ? getComputedStyle(el).animationName : "no element");
            };
            </script></body></html>
            """.utf8).write(to: harness)
        let moving = try dom(harness.absoluteString, in: d)
        #expect(attribute("data-animation", in: try #require(tag("body", in: moving))) == "k0")
        let still = try dom(harness.absoluteString, in: d, extra: ["--force-prefers-reduced-motion"])
        #expect(attribute("data-animation", in: try #require(tag("body", in: still))) == "none")
    }

    /// Every request Chromium makes goes through a proxy we listen on: the player makes none
    /// (a page that does load something proves the proxy sees requests).
    @Test func noNetworkRequest() throws {
        let d = try folder("network")
        let html = d.appendingPathComponent("player.html")
        #expect(try gradtrace(["animate", "samples/micrograd-chain.grad", "-o", html.path]).status == 0)
        let control = d.appendingPathComponent("control.html")
        try Data("<!DOCTYPE html><html><body><img src=\"http://gradtrace-test.invalid/x.png\"></body></html>".utf8).write(to: control)
        let quiet = ["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
                     "--disable-default-apps", "--disable-extensions", "--no-default-browser-check", "--disable-client-side-phishing-detection"]
        let proxy = try ProxyRecorder()
        let extra = quiet + ["--proxy-server=http://127.0.0.1:\(proxy.port)", "--proxy-bypass-list=<-loopback>"]
        _ = try dom(control.absoluteString, in: d, extra: extra)
        let seen = proxy.requests()
        #expect(seen.contains { $0.contains("gradtrace-test.invalid") }, "the proxy saw nothing, so the check proves nothing: \(seen)")
        let before = seen.count
        _ = try dom(html.absoluteString + "#step=2", in: d, extra: extra)
        // Chromium's own services (clock, updates, accounts) call Google whatever the page does: not the page's requests.
        let browserOwn = ["google.com", "googleapis.com", "gvt1.com"]
        let after = Array(proxy.requests().dropFirst(before)).filter { line in
            let target = line.split(separator: " ").dropFirst().first.map(String.init) ?? line
            let host = (URL(string: target)?.host ?? String(target.split(separator: ":").first ?? "")).lowercased()
            return !browserOwn.contains { host == $0 || host.hasSuffix("." + $0) }
        }
        #expect(after.isEmpty, "the player made network requests: \(after)")
    }
}

/// A local TCP listener that records the first line of every connection (an HTTP proxy that answers nothing).
final class ProxyRecorder: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let store = Store()

    final class Store: @unchecked Sendable {
        let lock = NSLock()
        var lines: [String] = []
        func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        func all() -> [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw CLITestError("socket failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw CLITestError("bind/listen failed") }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let listener = fd
        let store = self.store
        Thread.detachNewThread {
            while true {
                let c = accept(listener, nil, nil)
                if c < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 2048)
                var tv = timeval(tv_sec: 2, tv_usec: 0)
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                let n = recv(c, &buffer, buffer.count, 0)
                let first = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? "" : "(connection)"
                store.add(first)
                close(c)
            }
        }
    }

    func requests() -> [String] { store.all() }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}
