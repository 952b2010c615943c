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

  function drawCharts(root) {
    if (typeof Plotly === "undefined") return;
    var colors = themeColors();
    root.querySelectorAll("div.mlreport-chart[data-figure]:not([data-drawn])").forEach(function (el) {
      var fig;
      try { fig = JSON.parse(el.getAttribute("data-figure")); } catch (e) { return; }
      var layout = fig.layout || {};
      layout.font = { color: colors.fg };
      layout.xaxis = Object.assign({ gridcolor: colors.grid }, layout.xaxis || {});
      layout.yaxis = Object.assign({ gridcolor: colors.grid }, layout.yaxis || {});
      el.setAttribute("data-drawn", "");
      Plotly.newPlot(el, fig.data || [], layout, { displaylogo: false, responsive: true });
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
