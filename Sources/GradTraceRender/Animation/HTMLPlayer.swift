import GradTrace

/// The self-contained step player: inline SVG, inline CSS and script, nothing fetched.
enum HTMLPlayer {
    /// The page of one or more pictures of the same pass (`svgs`: each with its rank direction); the
    /// script shows the one whose steps read largest in the window, and picks again on resize.
    static func page(svgs: [(rankdir: String, svg: String)], captions: [String], fps: Double, title: String, theme: Theme) -> String {
        let layouts = svgs.map { "<div class=\"layout\" data-rankdir=\"\($0.rankdir)\">\n\($0.svg)\n</div>" }.joined(separator: "\n")
        let captionsJSON = "[" + captions.map { Report.jsonString($0, inScript: true) }.joined(separator: ",") + "]"
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
        @media (prefers-reduced-motion: reduce) { #stage { scroll-behavior: auto; } }
        </style>
        </head>
        <body>
        <header>
        <h1>\(esc(title))</h1>
        <button id="prev" title="previous step (←)" aria-label="previous step">◀ prev</button>
        <button id="play" title="play or pause (space)" aria-label="play">▶ play</button>
        <button id="next" title="next step (→)" aria-label="next step">next ▶</button>
        <input id="slider" type="range" min="0" max="\(captions.count - 1)" value="0" aria-label="step">
        <span id="counter" aria-live="polite"></span>
        <button id="zoomout" title="zoom out (-)" aria-label="zoom out">−</button>
        <button id="fit" title="fit the window (0)" aria-label="zoom to fit">fit</button>
        <button id="zoomin" title="zoom in (+)" aria-label="zoom in">+</button>
        <span id="zoomlevel" aria-live="polite"></span>
        </header>
        <div id="caption" aria-live="polite"></div>
        <div id="stage">
        \(layouts)
        </div>
        <script>
        (function () {
          "use strict";
          var captions = \(captionsJSON);
          var last = captions.length - 1;
          var stage = document.getElementById("stage");
          // The caption is shown above the picture: hide the copy the picture carries.
          function plain(t) { return String(t).replace(/\\u2212/g, "-").replace(/\\s+/g, " ").trim(); }
          // One layout per rank direction (LR, TB): its picture, timed items, step regions and size.
          var layouts = Array.prototype.slice.call(stage.querySelectorAll(".layout")).map(function (div) {
            var svg = div.querySelector("svg");
            var items = Array.prototype.slice.call(div.querySelectorAll(".tl"));
            var spans = items.map(function (el) { return [+el.getAttribute("data-from"), +el.getAttribute("data-to")]; });
            items.forEach(function (el, i) {
              if (spans[i][1] === spans[i][0] + 1 && plain(el.textContent) === plain(captions[spans[i][0]])) {
                el.classList.add("caption-in-svg");
              }
            });
            // Each step's active region [x, y, width, height] in SVG units (PlayerSupport.withFocus), or null.
            var focus = JSON.parse(svg.getAttribute("data-focus") || "[]");
            var box = svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width ? svg.viewBox.baseVal : { width: svg.getBBox().width, height: svg.getBBox().height };
            var regionW = 0, regionH = 0;
            focus.forEach(function (f) { if (f) { regionW = Math.max(regionW, f[2]); regionH = Math.max(regionH, f[3]); } });
            svg.setAttribute("role", "img");
            return { div: div, svg: svg, items: items, spans: spans, focus: focus, W: box.width, H: box.height, regionW: regionW, regionH: regionH };
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
          // The direction for the window: the layout whose steps read largest (the first unless another is clearly larger).
          function pick() {
            var best = layouts[0], bestScale = fitScaleOf(best);
            layouts.forEach(function (l) { var s = fitScaleOf(l); if (s > bestScale * 1.05) { best = l; bestScale = s; } });
            L = best;
            layouts.forEach(function (l) { l.div.style.display = l === L ? "" : "none"; });
            document.body.setAttribute("data-rankdir", L.div.getAttribute("data-rankdir"));
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
            if (location.hash !== "#step=" + step && history.replaceState) { history.replaceState(null, "", "#step=" + step); }
            reveal();
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
          function fromHash() {
            var m = /step=(\\d+)/.exec(location.hash);
            return m ? parseInt(m[1], 10) : 0;
          }
          document.getElementById("prev").onclick = function () { stop(); show(step - 1); };
          document.getElementById("next").onclick = function () { stop(); show(step + 1); };
          document.getElementById("zoomin").onclick = function () { setZoom(scale * 1.25); };
          document.getElementById("zoomout").onclick = function () { setZoom(scale / 1.25); };
          document.getElementById("fit").onclick = function () { setZoom(null); };
          playButton.onclick = play;
          slider.oninput = function () { stop(); show(+slider.value); };
          document.addEventListener("keydown", function (e) {
            if (e.altKey || e.ctrlKey || e.metaKey) { return; }
            var tag = e.target && e.target.tagName ? e.target.tagName.toLowerCase() : "";
            // A focused button or slider handles its own keys: space presses the button, arrows move the slider.
            if ((e.key === " " || e.key === "Enter") && (tag === "button" || tag === "input" || tag === "a")) { return; }
            if (tag === "input" && (e.key === "ArrowRight" || e.key === "ArrowLeft" || e.key === "Home" || e.key === "End")) { return; }
            if (e.key === "ArrowRight") { stop(); show(step + 1); e.preventDefault(); }
            else if (e.key === "ArrowLeft") { stop(); show(step - 1); e.preventDefault(); }
            else if (e.key === " ") { play(); e.preventDefault(); }
            else if (e.key === "Home") { stop(); show(0); e.preventDefault(); }
            else if (e.key === "End") { stop(); show(last); e.preventDefault(); }
            else if (e.key === "+" || e.key === "=") { setZoom(scale * 1.25); e.preventDefault(); }
            else if (e.key === "-") { setZoom(scale / 1.25); e.preventDefault(); }
            else if (e.key === "0") { setZoom(null); e.preventDefault(); }
          });
          // Pan by dragging the picture.
          var drag = null;
          stage.addEventListener("pointerdown", function (e) {
            if (e.button !== 0) { return; }
            drag = { x: e.clientX, y: e.clientY, left: stage.scrollLeft, top: stage.scrollTop };
            stage.classList.add("panning");
          });
          window.addEventListener("pointermove", function (e) {
            if (!drag) { return; }
            stage.scrollLeft = drag.left - (e.clientX - drag.x);
            stage.scrollTop = drag.top - (e.clientY - drag.y);
          });
          window.addEventListener("pointerup", function () { drag = null; stage.classList.remove("panning"); });
          window.addEventListener("resize", function () {
            if (zoom !== null) { return; }
            var before = L;
            pick();
            applyZoom();
            if (L !== before) { show(step); }
          });
          window.addEventListener("hashchange", function () { show(fromHash()); });
          pick();
          applyZoom();
          show(fromHash());
        })();
        </script>
        </body>
        </html>

        """
    }
}
