import GradTrace

/// The self-contained step player: inline SVG, inline CSS and script, nothing fetched.
enum HTMLPlayer {
    /// One state of the page: the pass with no module expanded (`module` empty) or with one expanded,
    /// drawn in one or more rank directions, with its captions and, for each of its steps 0…N, the first
    /// step of the full pass it stands for (``CollapsedView/sourceSteps``: how a step maps between views).
    struct View {
        var module: String
        var svgs: [(rankdir: String, svg: String)]
        var captions: [String]
        var sourceSteps: [Int]
    }

    /// The page of one or more views of the same pass. In each, the script shows the picture whose steps
    /// read largest in the window (the first view decides the direction, the others follow it), and picks
    /// again on resize; a click on a module target switches views, keeping the step.
    static func page(views: [View], fps: Double, title: String, theme: Theme) -> String {
        var layoutDivs: [String] = []
        for (v, view) in views.enumerated() {
            for s in view.svgs {
                layoutDivs.append("<div class=\"layout\" data-view=\"\(v)\" data-rankdir=\"\(s.rankdir)\">\n\(s.svg)\n</div>")
            }
        }
        let layouts = layoutDivs.joined(separator: "\n")
        let viewsJSON = "[" + views.map { view in
            "{\"module\":" + Report.jsonString(view.module, inScript: true)
                + ",\"captions\":[" + view.captions.map { Report.jsonString($0, inScript: true) }.joined(separator: ",") + "]"
                + ",\"source\":[" + view.sourceSteps.map(String.init).joined(separator: ",") + "]}"
        }.joined(separator: ",\n") + "]"
        let picker = views.count < 2 ? "" : "<label id=\"modules\">modules <select id=\"expand\" aria-label=\"expand a module\">"
            + views.map { v in
                v.module.isEmpty ? "<option value=\"\">all collapsed</option>"
                    : "<option value=\"\(SVGNormalizer.xml(v.module))\">\(SVGNormalizer.xml(v.module)) expanded</option>"
            }.joined() + "</select></label>"
        let stepCount = views[0].captions.count
        let interval = Int((1000 / fps).rounded())
        let esc = SVGNormalizer.xml
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="GradTrace">
        <title>\(esc(title))</title>
        <style>
        html, body { height: 100%; }
        body { margin: 0; display: flex; flex-direction: column; background: \(theme.background.hex); color: \(theme.text.hex); font-family: 'DejaVu Sans', Verdana, sans-serif; }
        header { padding: 8px 16px; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; background: \(theme.background.hex); border-bottom: 1px solid \(theme.mutedText.hex); }
        header h1 { font-size: 16px; margin: 0 12px 0 0; }
        button { font: inherit; padding: 4px 10px; cursor: pointer; }
        button:focus-visible, input:focus-visible { outline: 3px solid \(theme.text.hex); outline-offset: 2px; }
        input[type=range] { flex: 1; min-width: 160px; }
        #zoomlevel { min-width: 3.5em; text-align: right; font-variant-numeric: tabular-nums; }
        #caption { padding: 8px 16px; font-size: 15px; min-height: 1.4em; }
        #stage { position: relative; flex: 1; min-height: 0; overflow: auto; padding: 8px; cursor: grab; }
        #stage.panning { cursor: grabbing; }
        #stage svg { display: block; margin: 0 auto; max-width: none; }
        .tl { display: none; }
        .caption-in-svg { display: none !important; }
        .gt-modules { pointer-events: none; }
        .gt-modules rect { fill: none; stroke: none; }
        .gt-modules .hover rect { stroke: \(theme.text.hex); stroke-width: 2.5; stroke-dasharray: 6 3; }
        #stage.on-target { cursor: pointer; }
        @media (prefers-reduced-motion: reduce) { #stage { scroll-behavior: auto; } }
        </style>
        </head>
        <body>
        <header>
        <h1>\(esc(title))</h1>
        <button id="prev" title="previous step (←)" aria-label="previous step">◀ prev</button>
        <button id="play" title="play or pause (space)" aria-label="play">▶ play</button>
        <button id="next" title="next step (→)" aria-label="next step">next ▶</button>
        <input id="slider" type="range" min="0" max="\(stepCount - 1)" value="0" aria-label="step">
        <span id="counter" aria-live="polite"></span>
        <button id="zoomout" title="zoom out (-)" aria-label="zoom out">−</button>
        <button id="fit" title="fit the window (0)" aria-label="zoom to fit">fit</button>
        <button id="zoomin" title="zoom in (+)" aria-label="zoom in">+</button>
        <span id="zoomlevel" aria-live="polite"></span>
        \(picker)
        </header>
        <div id="caption" aria-live="polite"></div>
        <div id="stage">
        \(layouts)
        </div>
        <script>
        (function () {
          "use strict";
          // Views: the pass with no module expanded, then one per expandable module (same step numbering rule).
          var views = \(viewsJSON);
          var V = 0, captions = views[0].captions, last = captions.length - 1;
          var stage = document.getElementById("stage");
          var picker = document.getElementById("expand");
          // The caption is shown above the picture: hide the copy the picture carries.
          function plain(t) { return String(t).replace(/\\u2212/g, "-").replace(/\\s+/g, " ").trim(); }
          function numbers(t) { return String(t).split(",").map(Number); }
          // One layout per view and rank direction (LR, TB): its picture, timed items, step regions, size and module targets.
          var layouts = Array.prototype.slice.call(stage.querySelectorAll(".layout")).map(function (div) {
            var view = +div.getAttribute("data-view");
            var svg = div.querySelector("svg");
            var items = Array.prototype.slice.call(div.querySelectorAll(".tl"));
            var spans = items.map(function (el) { return [+el.getAttribute("data-from"), +el.getAttribute("data-to")]; });
            items.forEach(function (el, i) {
              if (spans[i][1] === spans[i][0] + 1 && plain(el.textContent) === plain(views[view].captions[spans[i][0]])) {
                el.classList.add("caption-in-svg");
              }
            });
            // Each step's active region [x, y, width, height] in SVG units (PlayerSupport.withFocus), or null.
            var focus = JSON.parse(svg.getAttribute("data-focus") || "[]");
            var box = svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width ? svg.viewBox.baseVal : { width: svg.getBBox().width, height: svg.getBBox().height };
            var regionW = 0, regionH = 0;
            focus.forEach(function (f) { if (f) { regionW = Math.max(regionW, f[2]); regionH = Math.max(regionH, f[3]); } });
            // Modules a click expands (their node) or collapses (their box, outside the nodes in it): PlayerSupport.withModuleTargets.
            var targets = Array.prototype.slice.call(div.querySelectorAll(".gt-expand, .gt-collapse")).map(function (g) {
              var inner = g.getAttribute("data-inner");
              return { el: g, module: g.getAttribute("data-module"), expand: g.classList.contains("gt-expand"),
                       box: numbers(g.getAttribute("data-box")), anchor: numbers(g.getAttribute("data-anchor")),
                       inner: inner ? inner.split(";").map(numbers) : [] };
            });
            svg.setAttribute("role", "img");
            return { view: view, div: div, svg: svg, items: items, spans: spans, focus: focus, W: box.width, H: box.height,
                     regionW: regionW, regionH: regionH, targets: targets, rankdir: div.getAttribute("data-rankdir") };
          });
          var L = layouts[0];
          var slider = document.getElementById("slider");
          var playButton = document.getElementById("play");
          var step = 0, timer = null;
          // Zoom: null fits the picture to the window; otherwise a scale chosen with the zoom buttons.
          var zoom = null, scale = 1;
          // Fit: the whole picture when it reads at that size; else the largest step's active region
          // (never below the whole-picture fit, never above 125%), scrolled into view step by step.
          function fitScaleOf(l) {
            var w = stage.clientWidth - 16, h = stage.clientHeight - 16;
            var whole = Math.min(1.5, w / l.W, h / l.H);
            if (whole >= 1 || !l.regionW) { return Math.max(0.05, whole); }
            return Math.max(0.05, whole, Math.min(1.25, w / l.regionW, h / l.regionH));
          }
          function fitScale() { return fitScaleOf(L); }
          // The direction for the window: the first view's layout whose steps read largest (the first unless
          // another is clearly larger); an expanded module is shown in the same direction.
          // `keep`: switching views keeps the direction shown (a module opens in place, not in a turned picture).
          function pick(keep) {
            var base = layouts.filter(function (l) { return l.view === 0; });
            var best = base[0], bestScale = fitScaleOf(best);
            base.forEach(function (l) { var s = fitScaleOf(l); if (s > bestScale * 1.05) { best = l; bestScale = s; } });
            var mine = layouts.filter(function (l) { return l.view === V; });
            var dir = keep ? L.rankdir : best.rankdir;
            L = mine.filter(function (l) { return l.rankdir === dir; })[0] || mine[0];
            layouts.forEach(function (l) { l.div.style.display = l === L ? "" : "none"; });
            document.body.setAttribute("data-rankdir", L.rankdir);
          }
          function applyZoom() {
            scale = zoom === null ? fitScale() : zoom;
            var svg = L.svg;
            svg.style.width = (L.W * scale) + "px";
            svg.style.height = (L.H * scale) + "px";
            svg.setAttribute("width", String(L.W * scale));
            svg.setAttribute("height", String(L.H * scale));
            document.getElementById("zoomlevel").textContent = Math.round(scale * 100) + "%";
            document.body.setAttribute("data-zoom", zoom === null ? "fit" : String(scale));
            reveal();
          }
          function setZoom(z) { zoom = z === null ? null : Math.max(0.05, Math.min(8, z)); applyZoom(); }
          // Scrolls the active node into view, and records whether it is visible.
          function reveal() {
            var f = L.focus[step], svg = L.svg;
            var visible = true;
            if (f) {
              var s0 = stage.getBoundingClientRect(), r0 = svg.getBoundingClientRect();
              var x = r0.left - s0.left - stage.clientLeft + stage.scrollLeft + f[0] * scale;
              var y = r0.top - s0.top - stage.clientTop + stage.scrollTop + f[1] * scale;
              var w = f[2] * scale, h = f[3] * scale;
              if (x < stage.scrollLeft || x + w > stage.scrollLeft + stage.clientWidth) { stage.scrollLeft = x + w / 2 - stage.clientWidth / 2; }
              if (y < stage.scrollTop || y + h > stage.scrollTop + stage.clientHeight) { stage.scrollTop = y + h / 2 - stage.clientHeight / 2; }
              // Visible: as much of the node as the window can hold is on screen.
              var s = stage.getBoundingClientRect(), r = svg.getBoundingClientRect();
              var fx = r.left + f[0] * scale, fy = r.top + f[1] * scale;
              var left = s.left + stage.clientLeft, top = s.top + stage.clientTop;
              var shownW = Math.min(fx + w, left + stage.clientWidth) - Math.max(fx, left);
              var shownH = Math.min(fy + h, top + stage.clientHeight) - Math.max(fy, top);
              visible = shownW >= Math.min(w, stage.clientWidth) - 2 && shownH >= Math.min(h, stage.clientHeight) - 2;
            }
            document.body.setAttribute("data-active-visible", String(visible));
          }
          function address() {
            return "#step=" + step + (V ? "&expand=" + encodeURIComponent(views[V].module) : "");
          }
          function show(k) {
            step = Math.max(0, Math.min(last, k | 0));
            for (var i = 0; i < L.items.length; i++) {
              L.items[i].style.display = (L.spans[i][0] <= step && step < L.spans[i][1]) ? "inline" : "none";
            }
            slider.value = step;
            document.getElementById("counter").textContent = "step " + step + " / " + last;
            document.getElementById("caption").textContent = captions[step];
            L.svg.setAttribute("aria-label", captions[step]);
            document.body.setAttribute("data-step", String(step));
            if (location.hash !== address() && history.replaceState) { history.replaceState(null, "", address()); }
            reveal();
          }
          // The step of view `to` that holds the first step of the full pass that step `s` of view `from` stands for:
          // expanding a module at its step opens its first operation; collapsing it returns to the module's step.
          function mapStep(from, s, to) {
            if (from === to) { return s; }
            var src = views[from].source[s], t = views[to].source, r = 0;
            for (var i = 0; i < t.length; i++) { if (t[i] <= src) { r = i; } }
            return r;
          }
          function viewOf(module) {
            for (var v = 0; v < views.length; v++) { if (views[v].module === module) { return v; } }
            return -1;
          }
          // The centre of a target's anchor box in the window: the module's node, or an expanded module's exit.
          function anchorOf(t) {
            var r = L.svg.getBoundingClientRect();
            return { x: r.left + (t.anchor[0] + t.anchor[2] / 2) * scale, y: r.top + (t.anchor[1] + t.anchor[3] / 2) * scale };
          }
          // Shows view `v` at step `k` (of that view); with `anchor` (a point in the window) the module's new
          // anchor (its exit when expanded, its node when collapsed) is put where the old one was: it opens in place.
          function setView(v, k, anchor, module) {
            V = v;
            captions = views[v].captions;
            last = captions.length - 1;
            slider.max = String(last);
            if (picker) { picker.value = views[v].module; }
            document.body.setAttribute("data-expanded", views[v].module);
            pick(true);
            applyZoom();
            show(k);
            var t = L.targets.filter(function (x) { return x.module === module; })[0];
            if (anchor && t) {
              var a = anchorOf(t);
              stage.scrollLeft += a.x - anchor.x;
              stage.scrollTop += a.y - anchor.y;
              reveal();
            }
          }
          function toggle(t) {
            var v = V === 0 ? viewOf(t.module) : 0;
            if (v < 0) { return; }
            stop();
            setView(v, mapStep(V, step, v), anchorOf(t), t.module);
          }
          // The module target under a point in the window, if any.
          function targetAt(cx, cy) {
            var r = L.svg.getBoundingClientRect(), x = (cx - r.left) / scale, y = (cy - r.top) / scale;
            function inside(b) { return x >= b[0] && x <= b[0] + b[2] && y >= b[1] && y <= b[1] + b[3]; }
            return L.targets.filter(function (t) { return inside(t.box) && !t.inner.some(inside); })[0] || null;
          }
          function stop() {
            if (timer) { clearInterval(timer); timer = null; }
            playButton.textContent = "▶ play";
            playButton.setAttribute("aria-label", "play");
          }
          function play() {
            if (timer) { stop(); return; }
            if (step >= last) { show(0); }
            playButton.textContent = "❚❚ pause";
            playButton.setAttribute("aria-label", "pause");
            timer = setInterval(function () { if (step >= last) { stop(); } else { show(step + 1); } }, \(interval));
          }
          // `#step=K`, and `&expand=NAME` for a module shown expanded.
          function fromHash() {
            var m = /step=(\\d+)/.exec(location.hash), e = /expand=([^&]*)/.exec(location.hash);
            var v = e ? viewOf(decodeURIComponent(e[1])) : 0;
            return { step: m ? parseInt(m[1], 10) : 0, view: v < 0 ? 0 : v };
          }
          document.getElementById("prev").onclick = function () { stop(); show(step - 1); };
          document.getElementById("next").onclick = function () { stop(); show(step + 1); };
          document.getElementById("zoomin").onclick = function () { setZoom(scale * 1.25); };
          document.getElementById("zoomout").onclick = function () { setZoom(scale / 1.25); };
          document.getElementById("fit").onclick = function () { setZoom(null); };
          playButton.onclick = play;
          slider.oninput = function () { stop(); show(+slider.value); };
          if (picker) {
            picker.onchange = function () {
              var v = Math.max(0, viewOf(picker.value));
              stop();
              setView(v, mapStep(V, step, v), null, picker.value);
            };
          }
          document.addEventListener("keydown", function (e) {
            if (e.altKey || e.ctrlKey || e.metaKey) { return; }
            var tag = e.target && e.target.tagName ? e.target.tagName.toLowerCase() : "";
            // A focused button or slider handles its own keys: space presses the button, arrows move the slider.
            if ((e.key === " " || e.key === "Enter") && (tag === "button" || tag === "input" || tag === "a")) { return; }
            if ((tag === "input" || tag === "select") && (e.key === "ArrowRight" || e.key === "ArrowLeft" || e.key === "Home" || e.key === "End")) { return; }
            if (e.key === "ArrowRight") { stop(); show(step + 1); e.preventDefault(); }
            else if (e.key === "ArrowLeft") { stop(); show(step - 1); e.preventDefault(); }
            else if (e.key === " ") { play(); e.preventDefault(); }
            else if (e.key === "Home") { stop(); show(0); e.preventDefault(); }
            else if (e.key === "End") { stop(); show(last); e.preventDefault(); }
            else if (e.key === "+" || e.key === "=") { setZoom(scale * 1.25); e.preventDefault(); }
            else if (e.key === "-") { setZoom(scale / 1.25); e.preventDefault(); }
            else if (e.key === "0") { setZoom(null); e.preventDefault(); }
          });
          // Pan by dragging the picture; a press that does not move is a click (on a module: expand or collapse it).
          var drag = null;
          stage.addEventListener("pointerdown", function (e) {
            if (e.button !== 0) { return; }
            drag = { x: e.clientX, y: e.clientY, left: stage.scrollLeft, top: stage.scrollTop, moved: false };
            stage.classList.add("panning");
          });
          window.addEventListener("pointermove", function (e) {
            if (!drag) {
              var t = targetAt(e.clientX, e.clientY);
              L.targets.forEach(function (x) { x.el.classList.toggle("hover", x === t); });
              stage.classList.toggle("on-target", !!t);
              stage.title = t ? t.module + (t.expand ? ": click to expand, step by step" : ": click to collapse into one node") : "";
              return;
            }
            if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 4) { drag.moved = true; }
            stage.scrollLeft = drag.left - (e.clientX - drag.x);
            stage.scrollTop = drag.top - (e.clientY - drag.y);
          });
          window.addEventListener("pointerup", function () {
            if (drag) { stage.classList.remove("panning"); }
            setTimeout(function () { drag = null; }, 0);
          });
          stage.addEventListener("click", function (e) {
            if (drag && drag.moved) { return; }
            var t = targetAt(e.clientX, e.clientY);
            if (t) { toggle(t); }
          });
          window.addEventListener("resize", function () {
            if (zoom !== null) { return; }
            var before = L;
            pick();
            applyZoom();
            if (L !== before) { show(step); }
          });
          window.addEventListener("hashchange", function () {
            var h = fromHash();
            if (h.view !== V) { setView(h.view, h.step, null, views[h.view].module); } else { show(h.step); }
          });
          var start = fromHash();
          V = start.view;
          captions = views[V].captions;
          last = captions.length - 1;
          slider.max = String(last);
          if (picker) { picker.value = views[V].module; }
          document.body.setAttribute("data-expanded", views[V].module);
          pick();
          applyZoom();
          show(start.step);
        })();
        </script>
        </body>
        </html>

        """
    }
}
