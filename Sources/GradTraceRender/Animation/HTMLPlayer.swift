import GradTrace

/// The self-contained step player: inline SVG, inline CSS and script, nothing fetched.
enum HTMLPlayer {
    static func page(svg: String, captions: [String], fps: Double, title: String, theme: Theme) -> String {
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
        body { margin: 0; background: \(theme.background.hex); color: \(theme.text.hex); font-family: 'DejaVu Sans', Verdana, sans-serif; }
        header { padding: 10px 16px; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; position: sticky; top: 0; background: \(theme.background.hex); border-bottom: 1px solid \(theme.mutedText.hex); }
        header h1 { font-size: 16px; margin: 0 12px 0 0; }
        button { font: inherit; padding: 4px 10px; cursor: pointer; }
        input[type=range] { flex: 1; min-width: 160px; }
        #caption { padding: 8px 16px; font-size: 15px; min-height: 1.4em; }
        #stage { overflow: auto; padding: 0 16px 16px; }
        #stage svg { max-width: none; height: auto; }
        .tl { display: none; }
        </style>
        </head>
        <body>
        <header>
        <h1>\(esc(title))</h1>
        <button id="prev" title="previous step (←)">◀ prev</button>
        <button id="play" title="play or pause (space)">▶ play</button>
        <button id="next" title="next step (→)">next ▶</button>
        <input id="slider" type="range" min="0" max="\(captions.count - 1)" value="0" aria-label="step">
        <span id="counter" aria-live="polite"></span>
        </header>
        <div id="caption" aria-live="polite"></div>
        <div id="stage">
        \(svg)
        </div>
        <script>
        (function () {
          "use strict";
          var captions = \(captionsJSON);
          var last = captions.length - 1;
          var items = Array.prototype.slice.call(document.querySelectorAll(".tl"));
          var spans = items.map(function (el) { return [+el.getAttribute("data-from"), +el.getAttribute("data-to")]; });
          var slider = document.getElementById("slider");
          var playButton = document.getElementById("play");
          var step = 0, timer = null;
          function show(k) {
            step = Math.max(0, Math.min(last, k | 0));
            for (var i = 0; i < items.length; i++) {
              items[i].style.display = (spans[i][0] <= step && step < spans[i][1]) ? "inline" : "none";
            }
            slider.value = step;
            document.getElementById("counter").textContent = "step " + step + " / " + last;
            document.getElementById("caption").textContent = captions[step];
            document.body.setAttribute("data-step", String(step));
            if (location.hash !== "#step=" + step && history.replaceState) { history.replaceState(null, "", "#step=" + step); }
          }
          function stop() { if (timer) { clearInterval(timer); timer = null; } playButton.textContent = "▶ play"; }
          function play() {
            if (timer) { stop(); return; }
            if (step >= last) { show(0); }
            playButton.textContent = "❚❚ pause";
            timer = setInterval(function () { if (step >= last) { stop(); } else { show(step + 1); } }, \(interval));
          }
          function fromHash() {
            var m = /step=(\\d+)/.exec(location.hash);
            return m ? parseInt(m[1], 10) : 0;
          }
          document.getElementById("prev").onclick = function () { stop(); show(step - 1); };
          document.getElementById("next").onclick = function () { stop(); show(step + 1); };
          playButton.onclick = play;
          slider.oninput = function () { stop(); show(+slider.value); };
          document.addEventListener("keydown", function (e) {
            if (e.key === "ArrowRight") { stop(); show(step + 1); e.preventDefault(); }
            else if (e.key === "ArrowLeft") { stop(); show(step - 1); e.preventDefault(); }
            else if (e.key === " ") { play(); e.preventDefault(); }
            else if (e.key === "Home") { stop(); show(0); }
            else if (e.key === "End") { stop(); show(last); }
          });
          window.addEventListener("hashchange", function () { show(fromHash()); });
          show(fromHash());
        })();
        </script>
        </body>
        </html>

        """
    }
}
