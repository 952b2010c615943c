/* mlreport: draws charts and makes index tables sortable and filterable.
 * Runs on every page load and after Material's instant navigation (document$). No network. */
(function () {
  "use strict";

  function themeColors() {
    var style = getComputedStyle(document.body);
    return {
      fg: (style.getPropertyValue("--md-default-fg-color") || "#333").trim(),
      grid: (style.getPropertyValue("--md-default-fg-color--lightest") || "#ddd").trim()
    };
  }

  /* charts: plotly.min.js (4.8 MB) is requested only by a page that has a chart, the first time
   * one is shown, from beside this script; the site's own pages and the user's docs pages without
   * a chart never load it (issue 10). Material's instant navigation keeps this script and
   * window.Plotly across pages, so it is fetched once per visit. */
  var here = document.currentScript && document.currentScript.src;
  if (!here) {
    var own = document.querySelector('script[src$="/mlreport.js"], script[src^="mlreport.js"]');
    here = own && own.src;
  }
  var plotlyUrl = here ? here.replace(/mlreport\.js(?:[?#].*)?$/, "plotly.min.js") : null;
  var waiting = null;

  function withPlotly(callback) {
    if (typeof Plotly !== "undefined") { callback(); return; }
    if (!plotlyUrl) return;
    if (waiting) { waiting.push(callback); return; }
    waiting = [callback];
    var script = document.createElement("script");
    script.src = plotlyUrl;
    script.async = true;
    script.setAttribute("data-mlreport-plotly", "");
    script.onload = function () {
      var queue = waiting;
      waiting = null;
      queue.forEach(function (f) { f(); });
    };
    script.onerror = function () {
      waiting = null;  // the next page tries again
      script.remove();
      document.querySelectorAll("div.mlreport-chart:not([data-drawn])").forEach(function (el) {
        el.textContent = "This chart needs " + plotlyUrl + ", which did not load.";
        el.classList.add("mlreport-chart-missing");
      });
    };
    document.head.appendChild(script);
  }
  window.mlreportWithPlotly = withPlotly;

  // the toolbar buttons worth having on a phone: zoom, pan, reset, and the PNG download
  var PLOTLY_CONFIG = {
    displaylogo: false, responsive: true, displayModeBar: "hover",
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines",
                             "hoverClosestCartesian", "hoverCompareCartesian"]
  };
  window.mlreportPlotlyConfig = PLOTLY_CONFIG;

  function showToolsOnTap(el) {
    // touch screens have no hover: plotly then shows its toolbar always, over the chart. mlreport.css
    // hides it until the chart is tapped (this class) or hovered; a tap elsewhere hides it again.
    el.addEventListener("pointerdown", function () {
      document.querySelectorAll("div.mlreport-chart.mlr-tools").forEach(function (o) { if (o !== el) o.classList.remove("mlr-tools"); });
      el.classList.add("mlr-tools");
    });
  }

  /* A tick as at most `chars` characters: a number with fewer digits (0.00012 -> 1e-4, 1024 ->
   * 1k), any other text cut with an ellipsis. */
  function shortTick(text, chars) {
    text = String(text);
    if (text.length <= chars) return text;
    var x = Number(text);
    if (text.trim() !== "" && isFinite(x)) {
      var abs = Math.abs(x), p, s;
      var units = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
      for (p = 4; p >= 1; p--) {
        s = String(Number(x.toPrecision(p)));
        for (var u = 0; u < units.length && abs < 1e15; u++) {
          if (abs >= units[u][0]) { s = String(Number((x / units[u][0]).toPrecision(p))) + units[u][1]; break; }
        }
        if (s.length > chars && abs < 1) s = x.toExponential(Math.max(0, p - 1)).replace(/\.?0+e/, "e").replace("e+", "e");
        if (s.length <= chars) return s;
      }
      return s;
    }
    return chars > 1 ? text.slice(0, chars - 1) + "\u2026" : text.slice(0, 1);
  }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    var raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return s >= raw; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  /* Parallel coordinates with many axes (issue 10): plotly draws each axis' tick labels to its
   * left and the headings above, in a gap of (plot width / axes - 1). Ticks get fewer and shorter
   * text to fit that gap; headings that do not fit are turned (-40 degrees, or upright when even
   * that overlaps) with the top margin grown for them. Checked in tests/test_layout_charts.py. */
  function fitParcoords(el, trace, layout) {
    var dims = trace.dimensions || [];
    if (dims.length < 2) return;
    var width = el.clientWidth || 700, narrow = width < 520;
    var margin = Object.assign({}, layout.margin || {});
    if (narrow) { margin.l = 34; margin.r = 34; }
    var gap = (width - (margin.l || 60) - (margin.r || 60)) / (dims.length - 1);
    var tickSize = narrow ? 9 : 11, labelSize = narrow ? 10 : 12;
    var chars = Math.max(2, Math.floor((gap - 8) / (0.62 * tickSize)));
    var height = layout.height || 380;
    var rows = Math.max(2, Math.min(6, Math.floor((height - (margin.t || 100) - (margin.b || 30)) / (2.2 * tickSize))));
    dims.forEach(function (d) {
      if (!d.tickvals) {
        var vals = (d.values || []).filter(function (v) { return typeof v === "number" && isFinite(v); });
        if (!vals.length) return;
        var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
        d.tickvals = niceTicks(lo, hi, Math.min(4, rows));
        d.ticktext = d.tickvals.map(function (v) { return String(v); });
        if (hi > lo) d.range = [Math.min(lo, d.tickvals[0]), Math.max(hi, d.tickvals[d.tickvals.length - 1])];
      }
      var text = (d.ticktext || d.tickvals.map(String)).slice();
      var shown = text.filter(function (t) { return t !== ""; }).length;
      var every = Math.max(1, Math.ceil(shown / rows)), k = 0;
      d.ticktext = text.map(function (t) {
        if (t === "") return "";
        return (k++ % every === 0) ? shortTick(t, chars) : "";
      });
    });
    var longest = Math.max.apply(null, dims.map(function (d) { return String(d.label || "").length; }));
    var labelWidth = longest * 0.6 * labelSize;
    if (labelWidth > gap - 6) {
      // turned labels are parallel: 40 degrees keeps gap * sin(40) between them, upright keeps gap
      var angle = gap * Math.sin(40 * Math.PI / 180) >= labelSize + 3 ? -40 : -90;
      trace.labelangle = angle;
      trace.labelside = "top";
      margin.t = (margin.t || 100) + Math.ceil(labelWidth * Math.sin(-angle * Math.PI / 180)) - labelSize;
      layout.height = height + Math.ceil(labelWidth * Math.sin(-angle * Math.PI / 180)) - labelSize;
      // the last heading leans right, past its axis
      if (angle === -40) margin.r = Math.max(margin.r || 60, Math.ceil(String(dims[dims.length - 1].label || "").length * 0.6 * labelSize * Math.cos(40 * Math.PI / 180)) + 6);
    }
    layout.margin = margin;
    trace.labelfont = { size: labelSize };
    trace.tickfont = { size: tickSize };
  }

  function fitToWidth(el, fig) {
    var layout = fig.layout || {};
    var narrow = el.clientWidth && el.clientWidth < 520;
    if (narrow && layout.title && layout.title.font) layout.title.font.size = 12;
    var lines = (fig.data || []).filter(function (t) { return t.type === "scatter" && t.showlegend !== false; }).length;
    if (narrow && layout.showlegend && lines > 2) layout.height = (layout.height || 300) + 20 * Math.ceil(lines / 2);
    (fig.data || []).forEach(function (trace) {
      if (trace.type === "parcoords") fitParcoords(el, trace, layout);
    });
    return layout;
  }

  function drawCharts(root) {
    var todo = root.querySelectorAll("div.mlreport-chart[data-figure]:not([data-drawn])");
    if (!todo.length) return;
    withPlotly(function () {
      var colors = themeColors();
      todo.forEach(function (el) {
        if (el.hasAttribute("data-drawn") || !document.body.contains(el)) return;
        var fig;
        try { fig = JSON.parse(el.getAttribute("data-figure")); } catch (e) { return; }
        var layout = fitToWidth(el, fig);
        layout.font = { color: colors.fg };
        Object.keys(layout).forEach(function (k) {
          if (/^[xy]axis\d*$/.test(k)) layout[k] = Object.assign({ gridcolor: colors.grid, zerolinecolor: colors.grid }, layout[k] || {});
        });
        el.setAttribute("data-drawn", "");
        showToolsOnTap(el);
        Plotly.newPlot(el, fig.data || [], layout, PLOTLY_CONFIG);
      });
    });
  }

  function cellValue(row, index, numeric) {
    var cell = row.children[index];
    if (!cell) return numeric ? -Infinity : "";
    var raw = cell.getAttribute("data-sort");
    if (numeric || raw !== null) {
      var n = parseFloat(raw !== null ? raw : cell.textContent);
      if (!isNaN(n)) return n;
      return numeric ? -Infinity : (raw !== null ? raw : cell.textContent.trim().toLowerCase());
    }
    return cell.textContent.trim().toLowerCase();
  }

  function fillRows(table) {
    var raw = table.getAttribute("data-rows");
    if (raw === null || !table.tBodies[0] || table.tBodies[0].rows.length) return;
    var rows;
    try { rows = JSON.parse(raw); } catch (e) { return; }
    var body = table.tBodies[0];
    var fragment = document.createDocumentFragment();
    rows.forEach(function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (cell) {
        var td = document.createElement("td");
        var text = cell[0], url = cell[1], sort = cell[2], css = cell[3];
        if (sort !== undefined && sort !== null) td.setAttribute("data-sort", String(sort));
        var target = td;
        if (css) { var span = document.createElement("span"); span.className = css; td.appendChild(span); target = span; }
        if (url) { var a = document.createElement("a"); a.setAttribute("href", url); target.appendChild(a); target = a; }
        target.textContent = text;
        tr.appendChild(td);
      });
      fragment.appendChild(tr);
    });
    body.appendChild(fragment);
  }

  function makeSortable(table) {
    if (table.hasAttribute("data-ready")) return;
    table.setAttribute("data-ready", "");
    fillRows(table);
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, index) {
      th.setAttribute("role", "button");
      th.setAttribute("tabindex", "0");
      th.title = "Sort by " + th.textContent;
      function sort() {
        var numeric = th.getAttribute("data-type") === "number";
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          if (x < y) return -dir;
          if (x > y) return dir;
          return 0;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
    if (table.tBodies[0] && table.tBodies[0].rows.length > 5) {
      var input = document.createElement("input");
      input.type = "search";
      input.className = "mlreport-filter";
      input.placeholder = "Filter rows…";
      input.setAttribute("aria-label", "Filter rows");
      input.addEventListener("input", function () {
        var needle = input.value.toLowerCase();
        Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
          row.style.display = row.textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none";
        });
      });
      table.parentNode.insertBefore(input, table);
    }
  }

  function init() {
    drawCharts(document);
    document.querySelectorAll("table.mlreport-table[data-sortable]").forEach(makeSortable);
    document.querySelectorAll("table.mlreport-table[data-rows]:not([data-sortable])").forEach(fillRows);
  }

  if (typeof document$ !== "undefined" && document$.subscribe) {
    document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

/* review (issue 9): the compare page. Every version of the model is data in
 * div.mlreport-compare[data-compare]; the reader picks any of them and a baseline, the choice
 * lives in the URL (#versions=2,5&baseline=2) so a link reproduces the view. Deltas and the
 * best value follow each metric's goal; the key metrics' histories are overlaid, one trace per
 * chosen version. All text is set with textContent: store strings never become markup. */
(function () {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function fmt(x) {
    if (x === null || x === undefined) return "";
    if (Math.abs(x) >= 1e15 || x !== Math.round(x)) return String(Number(x.toPrecision(6)));
    return String(x);
  }

  function readState(data) {
    var known = {};
    data.versions.forEach(function (v) { known[v.v] = true; });
    var params = new URLSearchParams((location.hash || "").replace(/^#/, ""));
    var chosen = (params.get("versions") || "").split(",").filter(function (v) { return v && known[v]; });
    if (!chosen.length) chosen = data.default.slice();
    var base = params.get("baseline");
    if (!base || chosen.indexOf(base) < 0) base = chosen.indexOf(data.baseline) >= 0 ? data.baseline : chosen[0];
    return { chosen: chosen, baseline: base };
  }

  function writeState(state) {
    var hash = "#versions=" + state.chosen.map(encodeURIComponent).join(",");
    if (state.baseline) hash += "&baseline=" + encodeURIComponent(state.baseline);
    history.replaceState(null, "", location.pathname + location.search + hash);
  }

  function order(data, chosen) {
    return data.versions.filter(function (v) { return chosen.indexOf(v.v) >= 0; });
  }

  function rowOf(table, label, cells) {
    var tr = el("tr");
    tr.appendChild(el("th", null, label));
    cells.forEach(function (c) { tr.appendChild(c); });
    table.appendChild(tr);
    return tr;
  }

  function textCell(text, url) {
    var td = el("td");
    if (url) {
      var a = el("a", null, text);
      a.href = url;
      td.appendChild(a);
    } else {
      td.textContent = text === null || text === undefined ? "" : String(text);
    }
    return td;
  }

  function drawTable(box, data, state) {
    var versions = order(data, state.chosen);
    var base = versions.filter(function (v) { return v.v === state.baseline; })[0];
    var table = el("table", "mlreport-table mlr-compare-table");
    var head = el("tr");
    head.appendChild(el("th", null, ""));
    versions.forEach(function (v) {
      var th = el("th", v.v === state.baseline ? "mlr-baseline" : null);
      var a = el("a", null, v.label);
      a.href = v.url || "#";
      th.appendChild(a);
      if (v.v === state.baseline) th.appendChild(el("span", "mlr-baseline-mark", " (baseline)"));
      th.setAttribute("data-version", v.v);
      head.appendChild(th);
    });
    var thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var body = el("tbody");
    rowOf(body, "aliases", versions.map(function (v) { return textCell(v.aliases.map(function (a) { return "@" + a; }).join(" ")); }));
    rowOf(body, "stage", versions.map(function (v) { return textCell(v.stage || ""); }));
    rowOf(body, "run", versions.map(function (v) { return textCell(v.run || "", v.run_url); }));
    rowOf(body, "commit", versions.map(function (v) { return textCell(v.commit || ""); }));
    rowOf(body, "data", versions.map(function (v) {
      return textCell(v.data.map(function (d) { return d[0] + ": " + d[1] + (d[2] ? " " + d[2] : ""); }).join("; "));
    }));
    var tagKeys = {};
    versions.forEach(function (v) { Object.keys(v.tags).forEach(function (k) { tagKeys[k] = true; }); });
    rowOf(body, "tags", versions.map(function (v) {
      return textCell(Object.keys(v.tags).sort().map(function (k) { return k + "=" + v.tags[k]; }).join(", "));
    }));
    data.metrics.forEach(function (key) {
      var values = versions.map(function (v) { return key in v.metrics ? v.metrics[key] : null; });
      if (values.every(function (x) { return x === null; })) return;
      var goal = data.goals[key] || "max";
      var finite = values.filter(function (x) { return x !== null; });
      var best = goal === "min" ? Math.min.apply(null, finite) : Math.max.apply(null, finite);
      var baseValue = base && key in base.metrics ? base.metrics[key] : null;
      var cells = values.map(function (x, i) {
        var td = el("td", "mlr-num");
        if (x === null) return td;
        td.appendChild(el("span", "mlr-value", fmt(x)));
        if (finite.length > 1 && x === best) td.classList.add("mlr-best");
        if (baseValue !== null && versions[i].v !== state.baseline) {
          var d = x - baseValue;
          var better = d === 0 ? null : (goal === "min" ? d < 0 : d > 0);
          var cls = better === null ? "mlr-same" : (better ? "mlr-better" : "mlr-worse");
          var mark = better === null ? "=" : (better ? "▲ " : "▼ ") + (d > 0 ? "+" : "") + fmt(d);
          td.appendChild(el("span", "mlr-delta " + cls, " " + mark));
        }
        return td;
      });
      var tr = rowOf(body, key + (goal === "min" ? " ↓" : " ↑"), cells);
      tr.setAttribute("data-metric", key);
      tr.firstChild.title = goal === "min" ? "lower is better" : "higher is better";
    });
    var paramKeys = {};
    versions.forEach(function (v) { Object.keys(v.params).forEach(function (k) { paramKeys[k] = true; }); });
    Object.keys(paramKeys).sort().forEach(function (key) {
      var values = versions.map(function (v) { return key in v.params ? v.params[key] : ""; });
      if (values.every(function (x) { return x === values[0]; })) return;
      rowOf(body, "param: " + key, values.map(function (x) { return textCell(x); }));
    });
    table.appendChild(body);
    box.appendChild(el("div", "mlreport-table-wrap")).appendChild(table);
  }

  function drawCharts(box, data, state) {
    if (typeof Plotly === "undefined") {  // charts: plotly.min.js is loaded on demand
      var token = box.mlrCharts = {};  // only the latest view draws once plotly is there
      if (window.mlreportWithPlotly) window.mlreportWithPlotly(function () { if (box.mlrCharts === token) drawCharts(box, data, state); });
      return;
    }
    var versions = order(data, state.chosen);
    data.keys.forEach(function (key) {
      var traces = versions.filter(function (v) { return v.history[key]; }).map(function (v) {
        return { type: "scatter", mode: "lines", name: v.label, x: v.history[key][0], y: v.history[key][1],
                 line: { width: v.v === state.baseline ? 3 : 1.5 } };
      });
      if (!traces.length) return;
      var div = el("div", "mlreport-chart mlr-compare-chart");
      div.setAttribute("data-metric", key);
      box.appendChild(div);
      var thinned = versions.filter(function (v) { var h = v.history[key]; return h && h[2] > h[1].length; });
      if (thinned.length) {  // charts: a downsampled chart says so
        var most = Math.max.apply(null, thinned.map(function (v) { return v.history[key][2]; }));
        box.appendChild(el("p", "mlreport-chart-note", "Downsampled for drawing (" + thinned.length + " of " +
          traces.length + " versions, up to " + most.toLocaleString("en") + " points logged; LTTB keeps peaks and drops); the table has the exact values."));
      }
      var style = getComputedStyle(document.body);
      var fg = (style.getPropertyValue("--md-default-fg-color") || "#333").trim();
      Plotly.newPlot(div, traces, {
        title: { text: key + " by step" }, height: 320, margin: { l: 50, r: 20, t: 40, b: 40 },
        paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { color: fg },
        xaxis: { title: { text: "step" } }, legend: { orientation: "h" }
      }, window.mlreportPlotlyConfig || { displaylogo: false, responsive: true });
    });
  }

  function render(root, data) {
    var state = readState(data);
    root.textContent = "";
    var picker = el("div", "mlr-compare-picker");
    picker.appendChild(el("span", "mlr-compare-label", "Versions: "));
    data.versions.slice().reverse().forEach(function (v) {
      var label = el("label", "mlr-compare-choice");
      var box = el("input");
      box.type = "checkbox";
      box.value = v.v;
      box.checked = state.chosen.indexOf(v.v) >= 0;
      box.setAttribute("data-version", v.v);
      box.addEventListener("change", function () {
        var chosen = data.versions.map(function (x) { return x.v; }).filter(function (x) {
          var input = picker.querySelector('input[type="checkbox"][data-version="' + CSS.escape(x) + '"]');
          return input && input.checked;
        });
        if (!chosen.length) { box.checked = true; return; }
        writeState({ chosen: chosen, baseline: chosen.indexOf(state.baseline) >= 0 ? state.baseline : chosen[0] });
        render(root, data);
      });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + v.label + (v.aliases.length ? " @" + v.aliases.join(" @") : "")));
      picker.appendChild(label);
    });
    var baseLabel = el("label", "mlr-compare-baseline", "Baseline: ");
    var select = el("select");
    select.setAttribute("name", "baseline");
    order(data, state.chosen).forEach(function (v) {
      var opt = el("option", null, v.label);
      opt.value = v.v;
      opt.selected = v.v === state.baseline;
      select.appendChild(opt);
    });
    select.addEventListener("change", function () {
      writeState({ chosen: state.chosen, baseline: select.value });
      render(root, data);
    });
    baseLabel.appendChild(select);
    picker.appendChild(baseLabel);
    root.appendChild(picker);
    writeState(state);
    drawTable(root, data, state);
    drawCharts(root, data, state);
  }

  function init() {
    document.querySelectorAll("div.mlreport-compare[data-compare]").forEach(function (root) {
      var data;
      try { data = JSON.parse(root.getAttribute("data-compare")); } catch (e) { return; }
      render(root, data);
      if (!root.hasAttribute("data-listening")) {
        root.setAttribute("data-listening", "");
        window.addEventListener("hashchange", function () { if (document.body.contains(root)) render(root, data); });
      }
    });
  }

  if (typeof document$ !== "undefined" && document$.subscribe) {
    document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
