/* mlreport runs tables (issue 10). A runs table is a div.mlr-runs[data-runs] holding a plain
 * HTML table of the top rows (what a reader without JavaScript sees); this script loads the
 * rows from the data script it names (render/runs_table.py writes it; http or file://) and replaces that table
 * with the interactive one: a column chooser, a sort that follows each metric's goal with blank
 * and NaN last in both directions, a filter language, grouping with mean ± std, the view kept
 * in the URL (#runs.q=…&runs.sort=…), and a CSV of the view. Only one page of rows is in the
 * DOM at a time, so 10,000 runs stay fast.
 *
 * Store strings are untrusted: everything is set with textContent or setAttribute, never as
 * markup. The pure part (formatting, the filter language, sorting, grouping, CSV, URL state)
 * is exported for node when this file is require()d, for the unit tests. */
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.mlreportRunsTable = api;
    api.start();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  var PAGE_SIZES = [25, 50, 100, 500];
  var STATE_KEYS = ["cols", "sort", "dir", "q", "group"];

  // ---- formatting -----------------------------------------------------------------------

  /* Python's fmt_number (render/text.py): integers as integers, else format(x, ".6g"). */
  function fmtNumber(x) {
    if (x === null || x === undefined) return "";
    if (typeof x !== "number") x = Number(x);
    if (isNaN(x)) return "NaN";
    if (x === Infinity) return "inf";
    if (x === -Infinity) return "-inf";
    if (x === Math.trunc(x) && Math.abs(x) < 1e15) return String(x);
    var parts = x.toExponential(5).split("e");
    var exp = parseInt(parts[1], 10);
    if (exp < -4 || exp >= 6) {
      var mant = parts[0].indexOf(".") >= 0 ? parts[0].replace(/0+$/, "").replace(/\.$/, "") : parts[0];
      var a = Math.abs(exp);
      return mant + "e" + (exp < 0 ? "-" : "+") + (a < 10 ? "0" : "") + a;
    }
    var s = x.toFixed(5 - exp);
    if (s.indexOf(".") >= 0) s = s.replace(/0+$/, "").replace(/\.$/, "");
    return s;
  }

  function fmtCount(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  // ---- the table model --------------------------------------------------------------------

  /* The payload as columns with lazily built arrays: raw values, numbers (NaN for blank),
   * lower-case text. A column is materialised only when it is shown, sorted or filtered on. */
  function load(data) {
    var n = data.rows;
    var columns = data.columns.map(function (spec, index) {
      return {
        id: spec.id, label: spec.label, kind: spec.kind, type: spec.type,
        goal: spec.goal || null, goalSource: spec.goal_source || null, index: index,
        links: spec.links || null, text: spec.text || null, spec: spec,
        _raw: null, _num: null, _low: null, _shown: null
      };
    });
    var byId = {};
    columns.forEach(function (c) { byId[c.id] = c; });
    return { n: n, columns: columns, byId: byId, defaults: data["default"] || {} };
  }

  function raw(table, col) {
    if (col._raw === null) {
      var spec = col.spec;
      if (spec.values) {
        col._raw = spec.values;
      } else {
        var out = new Array(table.n);
        for (var i = 0; i < table.n; i++) out[i] = null;
        var sparse = spec.sparse || { i: [], v: [] };
        for (var k = 0; k < sparse.i.length; k++) out[sparse.i[k]] = sparse.v[k];
        col._raw = out;
      }
    }
    return col._raw;
  }

  function nums(table, col) {
    if (col._num === null) {
      var values = raw(table, col);
      var out = new Float64Array(table.n);
      for (var i = 0; i < table.n; i++) {
        var v = values[i];
        if (v === null || v === undefined) out[i] = NaN;
        else if (typeof v === "number") out[i] = v;
        else if (col.type === "text") out[i] = NUMBER.test(v) ? Number(v) : NaN;
        else out[i] = Number(v); // "NaN", "Infinity", "-Infinity", a number param's text
      }
      col._num = out;
    }
    return col._num;
  }

  function shown(table, col, i) {
    if (col.text) return col.text[i] || "";
    var v = raw(table, col)[i];
    if (v === null || v === undefined) return "";
    if (col.kind === "metric") return fmtNumber(v);
    return String(v);
  }

  function lows(table, col) {
    if (col._low === null) {
      var out = new Array(table.n);
      for (var i = 0; i < table.n; i++) {
        var s = shown(table, col, i);
        out[i] = s === "" ? null : s.toLowerCase();
      }
      col._low = out;
    }
    return col._low;
  }

  function header(col) {
    if (!col.goal) return col.label;
    return col.label + (col.goal === "max" ? " ▲" : " ▼");
  }

  function goalText(col) {
    if (!col.goal) return "";
    var better = col.goal === "max" ? "higher is better" : "lower is better";
    return col.goalSource ? better + " (" + col.goalSource + ")" : better;
  }

  // ---- the filter language ------------------------------------------------------------------
  /* expr := or;  or := and ("or" and)*;  and := not ("and" not)*;  not := "not" not | atom
   * atom := "(" expr ")" | field op value | word      (a lone word: any shown text contains it)
   * field := word | "quoted" | word."quoted"  (tags."my key");  op := = == != < <= > >= ~ !~
   * value := number | word | "quoted" ('…' or "…", backslash escapes). and/or/not: any case. */

  function FilterError(message, pos) {
    this.message = message;
    this.pos = pos;
  }

  function fail(message, pos) {
    throw new FilterError(message + (pos === undefined || pos === null ? "" : " (at character " + (pos + 1) + ")"), pos);
  }

  var OPS = [">=", "<=", "!=", "==", "!~", "=", "<", ">", "~"];
  var WORD_STOP = /[\s()=!<>~"']/;

  function readString(src, i) {
    var quote = src[i], out = "", j = i + 1;
    while (j < src.length && src[j] !== quote) {
      if (src[j] === "\\" && j + 1 < src.length) j++;
      out += src[j];
      j++;
    }
    if (j >= src.length) fail("the string opened here is not closed: add " + quote, i);
    return { value: out, end: j + 1 };
  }

  function tokenize(src) {
    var out = [], i = 0;
    while (i < src.length) {
      var ch = src[i];
      if (/\s/.test(ch)) { i++; continue; }
      if (ch === "(" || ch === ")") { out.push({ t: ch, v: ch, pos: i }); i++; continue; }
      var op = null;
      for (var k = 0; k < OPS.length; k++) if (src.substr(i, OPS[k].length) === OPS[k]) { op = OPS[k]; break; }
      if (op) { out.push({ t: "op", v: op, pos: i }); i += op.length; continue; }
      if (ch === '"' || ch === "'") {
        var s = readString(src, i);
        out.push({ t: "str", v: s.value, pos: i });
        i = s.end;
        continue;
      }
      if (ch === "!") fail("'!' must be part of != or !~", i);
      var j = i;
      while (j < src.length && !WORD_STOP.test(src[j])) j++;
      var word = src.slice(i, j);
      if (word.charAt(word.length - 1) === "." && (src[j] === '"' || src[j] === "'")) {
        var q = readString(src, j); // tags."a key with spaces"
        out.push({ t: "word", v: word + q.value, pos: i, quoted: true });
        i = q.end;
        continue;
      }
      out.push({ t: "word", v: word, pos: i });
      i = j;
    }
    return out;
  }

  function isKeyword(tok, word) {
    return tok && tok.t === "word" && !tok.quoted && tok.v.toLowerCase() === word;
  }

  function parse(src) {
    var toks = tokenize(src), at = 0;
    if (!toks.length) return null;
    function peek() { return toks[at]; }
    function next() { return toks[at++]; }
    function describe(tok) { return tok.t === "str" ? '"' + tok.v + '"' : "'" + tok.v + "'"; }

    function parseOr() {
      var left = parseAnd();
      while (isKeyword(peek(), "or")) { next(); left = { op: "or", a: left, b: parseAnd() }; }
      return left;
    }
    function parseAnd() {
      var left = parseNot();
      while (isKeyword(peek(), "and")) { next(); left = { op: "and", a: left, b: parseNot() }; }
      return left;
    }
    function parseNot() {
      if (isKeyword(peek(), "not")) { next(); return { op: "not", a: parseNot() }; }
      return parseAtom();
    }
    function parseAtom() {
      var tok = peek();
      if (!tok) fail("the filter ends where a condition should follow", src.length - 1);
      if (tok.t === "(") {
        next();
        var inner = parseOr();
        var close = peek();
        if (!close || close.t !== ")") fail("the '(' here is not closed: add ')'", tok.pos);
        next();
        return inner;
      }
      if (tok.t === ")") fail("there is no '(' for this ')'", tok.pos);
      if (tok.t === "op") fail("a column name must come before " + describe(tok), tok.pos);
      if (isKeyword(tok, "and") || isKeyword(tok, "or")) fail("a condition must come before " + describe(tok), tok.pos);
      next();
      var op = peek();
      if (op && op.t === "op") {
        next();
        var value = peek();
        if (!value || (value.t !== "word" && value.t !== "str")) {
          fail("a value must follow " + describe(op) + " (quote it if it has spaces or brackets)", op.pos);
        }
        next();
        return { op: "cmp", field: tok.v, fieldPos: tok.pos, cmp: op.v, value: value.v, quoted: value.t === "str", pos: value.pos };
      }
      return { op: "text", value: tok.v, pos: tok.pos };
    }

    var ast = parseOr();
    var rest = peek();
    if (rest) {
      if (rest.t === ")") fail("there is no '(' for this ')'", rest.pos);
      if (rest.t === "op") fail(describe(rest) + " needs a column name before it", rest.pos);
      fail("expected 'and' or 'or' before " + describe(rest), rest.pos);
    }
    return ast;
  }

  var ALIASES = { name: "run", run_name: "run", id: "run_id", start: "started", start_time: "started", owner: "user" };
  var PREFIXES = { "attributes.": "", "attribute.": "", "metric.": "metrics.", "param.": "params.", "tag.": "tags." };

  function resolve(table, name, pos) {
    var byId = table.byId;
    if (byId[name]) return byId[name];
    var lower = name.toLowerCase();
    if (ALIASES[lower] && byId[ALIASES[lower]]) return byId[ALIASES[lower]];
    for (var p in PREFIXES) {
      if (lower.indexOf(p) === 0) {
        var id = PREFIXES[p] + name.slice(p.length);
        if (byId[id]) return byId[id];
        if (PREFIXES[p] === "" && ALIASES[id.toLowerCase()]) return byId[ALIASES[id.toLowerCase()]];
      }
    }
    var bare = ["metrics.", "params.", "tags."];
    for (var k = 0; k < bare.length; k++) if (byId[bare[k] + name]) return byId[bare[k] + name];
    for (var c = 0; c < table.columns.length; c++) {
      var col = table.columns[c];
      if (col.id.toLowerCase() === lower || (col.kind !== "attribute" && col.label.toLowerCase() === lower)) return col;
    }
    fail("there is no column '" + name + "' (name one as status, metrics.<key>, params.<key> or tags.<key>)", pos);
  }

  function parseTime(v) {
    var m = /^(\d{4}-\d\d-\d\d)(?:[ T](\d\d:\d\d(?::\d\d)?))?$/.exec(v);
    if (!m) return NaN;
    return Date.parse(m[1] + "T" + (m[2] || "00:00") + (m[2] && m[2].length === 5 ? ":00" : "") + "Z");
  }

  function compileCmp(table, node) {
    var col = resolve(table, node.field, node.fieldPos);
    var op = node.cmp === "==" ? "=" : node.cmp;
    var v = node.value, vlow = v.toLowerCase();
    var vnum = !node.quoted && NUMBER.test(v) ? Number(v) : NaN;
    if (col.type === "time" && isNaN(vnum)) vnum = parseTime(v);
    var low = lows(table, col);
    var contains = function (i) { return low[i] !== null && low[i].indexOf(vlow) >= 0; };
    var equals = function (i) { return low[i] === null ? vlow === "" : low[i] === vlow; };
    if (op === "~") return contains;
    if (op === "!~") return function (i) { return !contains(i); };
    if (isNaN(vnum)) {
      if (op === "=") return equals;
      if (op === "!=") return function (i) { return !equals(i); };
      if (col.type !== "text") fail(col.label + " holds numbers: '" + v + "' is not one", node.pos);
      var cmpText = { "<": function (a) { return a < vlow; }, "<=": function (a) { return a <= vlow; },
                      ">": function (a) { return a > vlow; }, ">=": function (a) { return a >= vlow; } }[op];
      return function (i) { return low[i] !== null && cmpText(low[i]); };
    }
    var num = nums(table, col);
    switch (op) {
      case "=": return function (i) { return num[i] === vnum; };
      case "!=": return function (i) { return !(num[i] === vnum); };
      case "<": return function (i) { return num[i] < vnum; };
      case "<=": return function (i) { return num[i] <= vnum; };
      case ">": return function (i) { return num[i] > vnum; };
      default: return function (i) { return num[i] >= vnum; };
    }
  }

  /* The filter as a predicate over row indices; throws FilterError with a one-line message. */
  function compile(table, src, textColumns) {
    var ast = parse(src);
    if (ast === null) return null;
    function build(node) {
      if (node.op === "and") { var a = build(node.a), b = build(node.b); return function (i) { return a(i) && b(i); }; }
      if (node.op === "or") { var c = build(node.a), d = build(node.b); return function (i) { return c(i) || d(i); }; }
      if (node.op === "not") { var e = build(node.a); return function (i) { return !e(i); }; }
      if (node.op === "cmp") return compileCmp(table, node);
      var needle = node.value.toLowerCase();
      var arrays = textColumns.map(function (col) { return lows(table, col); });
      return function (i) {
        for (var k = 0; k < arrays.length; k++) if (arrays[k][i] !== null && arrays[k][i].indexOf(needle) >= 0) return true;
        return false;
      };
    }
    return build(ast);
  }

  // ---- sorting and grouping -----------------------------------------------------------------

  /* Rows by one column: blank and NaN last whichever the direction; ties keep the given order. */
  function sortRows(table, rows, colId, dir) {
    var col = table.byId[colId];
    if (!col) return rows.slice();
    var sign = dir === "desc" ? -1 : 1;
    var keyed = [], blank = [], i, r;
    if (col.type !== "text") {
      var key = nums(table, col);
      for (i = 0; i < rows.length; i++) { r = rows[i]; (isNaN(key[r]) ? blank : keyed).push(r); }
      var pos = new Int32Array(table.n);
      for (i = 0; i < rows.length; i++) pos[rows[i]] = i;
      keyed.sort(function (a, b) {
        var x = key[a], y = key[b];
        if (x < y) return -sign;
        if (x > y) return sign;
        return pos[a] - pos[b];
      });
    } else {
      var text = lows(table, col);
      for (i = 0; i < rows.length; i++) { r = rows[i]; (text[r] === null ? blank : keyed).push(r); }
      var at = new Int32Array(table.n);
      for (i = 0; i < rows.length; i++) at[rows[i]] = i;
      keyed.sort(function (a, b) {
        var x = text[a], y = text[b];
        if (x < y) return -sign;
        if (x > y) return sign;
        return at[a] - at[b];
      });
    }
    return keyed.concat(blank);
  }

  function stats(values, rows) {
    var n = 0, sum = 0, i, v;
    for (i = 0; i < rows.length; i++) { v = values[rows[i]]; if (isFinite(v)) { n++; sum += v; } }
    if (!n) return { n: 0, mean: NaN, std: NaN };
    var mean = sum / n, sq = 0;
    for (i = 0; i < rows.length; i++) { v = values[rows[i]]; if (isFinite(v)) sq += (v - mean) * (v - mean); }
    return { n: n, mean: mean, std: n > 1 ? Math.sqrt(sq / (n - 1)) : NaN };
  }

  /* Groups of rows by one column's shown value, with count and mean ± std (sample) of each
   * number column; ordered by the sorted column's mean (NaN last), else by value. */
  function groupRows(table, rows, groupId, numberCols, sortId, dir) {
    var g = table.byId[groupId];
    var index = new Map(), groups = [];
    rows.forEach(function (r) {
      var key = shown(table, g, r);
      var group = index.get(key);
      if (!group) { group = { key: key, rows: [] }; index.set(key, group); groups.push(group); }
      group.rows.push(r);
    });
    groups.forEach(function (group) {
      group.stats = numberCols.map(function (c) { return stats(nums(table, c), group.rows); });
    });
    var sign = dir === "desc" ? -1 : 1;
    var by = -1;
    numberCols.forEach(function (c, k) { if (c.id === sortId) by = k; });
    var order = groups.map(function (_, k) { return k; });
    var numericKey = g.type !== "text" || groups.every(function (x) { return x.key === "" || NUMBER.test(x.key); });
    function keyOf(k) {
      if (by >= 0) return groups[k].stats[by].mean;
      if (groups[k].key === "") return NaN;
      return numericKey ? Number(groups[k].key) : groups[k].key.toLowerCase();
    }
    var groupSign = by >= 0 || sortId === groupId ? sign : 1;
    order.sort(function (a, b) {
      var x = keyOf(a), y = keyOf(b);
      var xb = x !== x, yb = y !== y; // NaN: blank, last
      if (xb !== yb) return xb ? 1 : -1;
      if (!xb && x < y) return -groupSign;
      if (!xb && x > y) return groupSign;
      return a - b;
    });
    return order.map(function (k) { return groups[k]; });
  }

  function fmtStat(s, count) {
    if (!s.n) return "";
    var out = fmtNumber(s.mean);
    if (s.n > 1) {
      // the mean to the precision of its spread: std to 2 significant digits, the mean alike
      var places = s.std > 0 && isFinite(s.std) ? 1 - parseInt(s.std.toExponential(1).split("e")[1], 10) : -1;
      if (places >= 0 && places <= 12) out = s.mean.toFixed(places) + " ± " + s.std.toFixed(places);
      else out += " ± " + fmtNumber(s.std);
    }
    if (s.n < count) out += " (n=" + s.n + ")";
    return out;
  }

  // ---- the view -----------------------------------------------------------------------------

  function defaultState(table) {
    var d = table.defaults;
    return {
      cols: (d.columns || []).filter(function (id) { return table.byId[id]; }),
      sort: d.sort && table.byId[d.sort] ? d.sort : null,
      dir: d.dir === "asc" ? "asc" : "desc",
      q: "",
      group: null
    };
  }

  /* The state in the URL's fragment: <name>.cols=…&<name>.sort=…&<name>.dir=…&<name>.q=…&
   * <name>.group=… (each column id URI-encoded, joined by commas). Unknown columns are dropped
   * and named in `missing`. */
  function readState(table, name, hash) {
    var state = defaultState(table);
    var params = new URLSearchParams((hash || "").replace(/^#/, ""));
    var missing = [];
    var has = false;
    var cols = params.get(name + ".cols");
    if (cols !== null) {
      has = true;
      state.cols = [];
      cols.split(",").filter(Boolean).forEach(function (part) {
        var id;
        try { id = decodeURIComponent(part); } catch (e) { id = part; }
        if (table.byId[id] && state.cols.indexOf(id) < 0) state.cols.push(id);
        else if (!table.byId[id]) missing.push(id);
      });
    }
    var sort = params.get(name + ".sort");
    if (sort !== null) {
      has = true;
      if (sort === "" ) state.sort = null;
      else if (table.byId[sort]) state.sort = sort;
      else missing.push(sort);
    }
    var dir = params.get(name + ".dir");
    if (dir === "asc" || dir === "desc") { has = true; state.dir = dir; }
    var q = params.get(name + ".q");
    if (q !== null) { has = true; state.q = q; }
    var group = params.get(name + ".group");
    if (group !== null) {
      has = true;
      if (group === "") state.group = null;
      else if (table.byId[group]) state.group = group;
      else missing.push(group);
    }
    return { state: state, missing: missing, fromUrl: has };
  }

  function writeState(name, state, hash) {
    var params = new URLSearchParams((hash || "").replace(/^#/, ""));
    var keep = [];
    params.forEach(function (value, key) {
      var own = STATE_KEYS.some(function (k) { return key === name + "." + k; });
      var other = !own && STATE_KEYS.some(function (k) { return key.slice(-k.length - 1) === "." + k; });
      if (other) keep.push([key, value]);
    });
    var out = new URLSearchParams();
    keep.forEach(function (kv) { out.append(kv[0], kv[1]); });
    out.set(name + ".cols", state.cols.map(encodeURIComponent).join(","));
    out.set(name + ".sort", state.sort || "");
    out.set(name + ".dir", state.dir);
    out.set(name + ".q", state.q);
    out.set(name + ".group", state.group || "");
    return "#" + out.toString();
  }

  var KIND_RANK = { attribute: 0, metric: 1, param: 2, tag: 3, system: 4 };
  // how the filter language and the chooser's search name a column of each kind: a tool's own
  // tags (kind "system", MLflow's mlflow.*) are tags.<key>, as that tool's own search names them
  var KIND_PREFIX = { metric: "metrics.", param: "params.", tag: "tags.", system: "tags." };

  /* The shown columns with one more: after the last shown column of its kind or an earlier
   * kind (the order the reader chose, and the URL keeps, is never reshuffled). */
  function addColumn(table, ids, id) {
    var rank = KIND_RANK[table.byId[id].kind];
    var at = 0;
    ids.forEach(function (other, k) { if (KIND_RANK[table.byId[other].kind] <= rank) at = k + 1; });
    return ids.slice(0, at).concat([id], ids.slice(at));
  }

  function textColumnsOf(table, state) {
    var cols = state.cols.map(function (id) { return table.byId[id]; }).filter(function (c) { return c && c.type === "text"; });
    if (table.byId.run && cols.indexOf(table.byId.run) < 0) cols.unshift(table.byId.run);
    return cols;
  }

  /* Filter, sort and group: {rows, groups, error}. A bad filter shows every row and says why. */
  function computeView(table, state) {
    var base = new Array(table.n);
    for (var i = 0; i < table.n; i++) base[i] = i;
    var rows = base, error = null, predicate = null;
    if (state.q && state.q.trim()) {
      try {
        predicate = compile(table, state.q, textColumnsOf(table, state));
      } catch (e) {
        if (!(e instanceof FilterError)) throw e;
        error = "Filter: " + e.message;
      }
    }
    if (predicate) rows = base.filter(predicate);
    if (state.sort) rows = sortRows(table, rows, state.sort, state.dir);
    var groups = null;
    if (state.group && table.byId[state.group]) {
      groups = groupRows(table, rows, state.group, groupNumberColumns(table, state), state.sort, state.dir);
    }
    return { rows: rows, groups: groups, error: error };
  }

  function groupNumberColumns(table, state) {
    return state.cols.map(function (id) { return table.byId[id]; }).filter(function (c) {
      return c && c.kind === "metric";
    });
  }

  // ---- CSV of the view ----------------------------------------------------------------------

  function csvLabel(col) {
    return ({ metric: "metric: ", param: "param: ", tag: "tag: ", system: "system tag: " }[col.kind] || "") + col.label;
  }

  function csvSafe(s) {
    // a spreadsheet would run "=…" as a formula (CSV injection), as tables.py _csv_safe says
    if (/^[=+\-@\t\r]/.test(s) && !NUMBER.test(s) && !/^[+-]?(inf|infinity|nan)$/i.test(s)) return "'" + s;
    return s;
  }

  function csvField(s) {
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function csvCell(table, col, r) {
    var v = raw(table, col)[r];
    if (col.text || v === null || v === undefined) return shown(table, col, r);
    if (col.kind === "metric") {
      var x = typeof v === "number" ? v : Number(v);
      return isFinite(x) ? String(x) : fmtNumber(x);
    }
    return typeof v === "number" ? String(v) : csvSafe(String(v));
  }

  /* Exactly what the view shows, every page of it: the chosen columns of the filtered, sorted
   * rows, or one line per group. Numbers at full precision. */
  function viewCsv(table, state, view) {
    var lines = [];
    if (view.groups) {
      var g = table.byId[state.group];
      var cols = groupNumberColumns(table, state);
      var head = [csvLabel(g), "runs"];
      cols.forEach(function (c) { head.push(csvLabel(c) + " mean", csvLabel(c) + " std", csvLabel(c) + " n"); });
      lines.push(head.map(csvField).join(","));
      view.groups.forEach(function (group) {
        var row = [csvSafe(group.key), String(group.rows.length)];
        group.stats.forEach(function (s) {
          row.push(s.n ? String(s.mean) : "", s.n > 1 ? String(s.std) : "", String(s.n));
        });
        lines.push(row.map(csvField).join(","));
      });
    } else {
      var shownCols = state.cols.map(function (id) { return table.byId[id]; }).filter(Boolean);
      lines.push(shownCols.map(function (c) { return csvField(csvLabel(c)); }).join(","));
      view.rows.forEach(function (r) {
        lines.push(shownCols.map(function (c) { return csvField(csvCell(table, c, r)); }).join(","));
      });
    }
    return lines.join("\n") + "\n";
  }

  // ---- the page -----------------------------------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function Widget(root, table, name) {
    this.root = root;
    this.table = table;
    this.name = name;
    this.page = 0;
    this.pageSize = 50;
    var read = readState(table, name, location.hash);
    this.state = read.state;
    this.missing = read.missing;
    this.build();
    this.apply(this.state, false);
  }

  Widget.prototype.build = function () {
    var self = this, table = this.table;
    var box = el("div", "mlr-rt");
    var bar = el("div", "mlr-rt-bar");
    this.filter = el("input", "mlr-rt-filter");
    this.filter.type = "search";
    this.filter.placeholder = "Filter: val_auc > 0.85 and optimizer = adam";
    this.filter.setAttribute("aria-label", "Filter runs");
    this.filter.spellcheck = false;
    this.filter.addEventListener("input", function () {
      self.apply(Object.assign({}, self.state, { q: self.filter.value }), true);
    });
    bar.appendChild(this.filter);

    this.chooser = el("details", "mlr-rt-columns");
    this.chooserSummary = el("summary", null, "Columns");
    this.chooser.appendChild(this.chooserSummary);
    var panel = el("div", "mlr-rt-columns-panel");
    var find = el("input", "mlr-rt-find");
    find.type = "search";
    find.placeholder = "Find a column";
    find.setAttribute("aria-label", "Find a column");
    panel.appendChild(find);
    var reset = el("button", "mlr-rt-defaults", "Default columns");
    reset.type = "button";
    reset.addEventListener("click", function () {
      self.apply(Object.assign({}, self.state, { cols: defaultState(table).cols }), true);
    });
    panel.appendChild(reset);
    this.boxes = {};
    var kinds = [["attribute", "Run"], ["metric", "Metrics"], ["param", "Params"], ["tag", "Tags"], ["system", "System tags"]];
    kinds.forEach(function (kind) {
      var cols = table.columns.filter(function (c) { return c.kind === kind[0]; });
      if (!cols.length) return;
      var set = el("fieldset", "mlr-rt-kind");
      set.appendChild(el("legend", null, kind[1] + " (" + cols.length + ")"));
      cols.forEach(function (c) {
        var label = el("label", "mlr-rt-choice");
        var box = el("input");
        box.type = "checkbox";
        box.setAttribute("data-col", c.id);
        box.addEventListener("change", function () {
          var ids = self.state.cols.filter(function (id) { return id !== c.id; });
          if (box.checked) ids = addColumn(table, ids, c.id);
          self.apply(Object.assign({}, self.state, { cols: ids }), true);
        });
        self.boxes[c.id] = box;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + header(c)));
        label.setAttribute("data-find", (KIND_PREFIX[c.kind] || "") + c.label.toLowerCase());
        set.appendChild(label);
      });
      panel.appendChild(set);
    });
    find.addEventListener("input", function () {
      var needle = find.value.toLowerCase();
      panel.querySelectorAll("label.mlr-rt-choice").forEach(function (label) {
        label.hidden = needle !== "" && label.getAttribute("data-find").indexOf(needle) < 0;
      });
    });
    this.chooser.appendChild(panel);
    bar.appendChild(this.chooser);

    var groupLabel = el("label", "mlr-rt-grouping", "Group by ");
    this.groupSelect = el("select", "mlr-rt-group");
    this.groupSelect.setAttribute("aria-label", "Group by");
    this.groupSelect.appendChild(el("option", null, "nothing")).value = "";
    table.columns.forEach(function (c) {
      if (c.type !== "text" && c.kind !== "param") return;
      if (c.id === "run" || c.id === "run_id") return;
      var opt = el("option", null, c.kind === "attribute" ? c.label : csvLabel(c));
      opt.value = c.id;
      self.groupSelect.appendChild(opt);
    });
    this.groupSelect.addEventListener("change", function () {
      self.apply(Object.assign({}, self.state, { group: self.groupSelect.value || null }), true);
    });
    groupLabel.appendChild(this.groupSelect);
    bar.appendChild(groupLabel);

    var csvButton = el("button", "mlr-rt-csv", "CSV of this view");
    csvButton.type = "button";
    csvButton.addEventListener("click", function () { self.download(); });
    bar.appendChild(csvButton);
    var all = this.root.getAttribute("data-csv");
    if (all) {
      var link = el("a", "mlr-rt-all", "every run and column (CSV)");
      link.setAttribute("href", all);
      link.setAttribute("download", "");
      bar.appendChild(link);
    }
    box.appendChild(bar);

    this.error = el("p", "mlr-rt-error");
    this.error.setAttribute("role", "alert");
    this.error.hidden = true;
    box.appendChild(this.error);
    this.count = el("p", "mlr-rt-count");
    this.count.setAttribute("aria-live", "polite");
    box.appendChild(this.count);

    var wrap = el("div", "mlreport-table-wrap");
    this.tableEl = el("table", "mlreport-table mlr-rt-table");
    this.thead = el("thead");
    this.tbody = el("tbody");
    this.tableEl.appendChild(this.thead);
    this.tableEl.appendChild(this.tbody);
    wrap.appendChild(this.tableEl);
    box.appendChild(wrap);

    var pager = el("div", "mlr-rt-pager");
    this.prev = el("button", "mlr-rt-prev", "‹ Previous");
    this.prev.type = "button";
    this.prev.addEventListener("click", function () { self.page--; self.draw(); });
    this.next = el("button", "mlr-rt-next", "Next ›");
    this.next.type = "button";
    this.next.addEventListener("click", function () { self.page++; self.draw(); });
    this.pageInfo = el("span", "mlr-rt-page");
    var sizeLabel = el("label", "mlr-rt-size", "Rows per page ");
    this.sizeSelect = el("select");
    PAGE_SIZES.forEach(function (n) {
      var opt = el("option", null, String(n));
      opt.value = String(n);
      opt.selected = n === self.pageSize;
      self.sizeSelect.appendChild(opt);
    });
    this.sizeSelect.addEventListener("change", function () { self.pageSize = Number(self.sizeSelect.value); self.page = 0; self.draw(); });
    sizeLabel.appendChild(this.sizeSelect);
    pager.appendChild(this.prev);
    pager.appendChild(this.pageInfo);
    pager.appendChild(this.next);
    pager.appendChild(sizeLabel);
    box.appendChild(pager);

    this.root.textContent = "";
    this.root.appendChild(box);
  };

  /* Take a new state: filter, sort, group, draw the first page; `user` writes it to the URL. */
  Widget.prototype.apply = function (state, user) {
    this.state = state;
    this.view = computeView(this.table, state);
    this.page = 0;
    if (user) {
      var hash = writeState(this.name, state, location.hash);
      history.replaceState(history.state, "", location.pathname + location.search + hash);
    }
    this.draw();
  };

  Widget.prototype.sortBy = function (col) {
    var dir;
    if (this.state.sort === col.id) dir = this.state.dir === "asc" ? "desc" : "asc";
    else dir = col.goal === "max" || col.type === "time" ? "desc" : "asc"; // a metric: best first
    this.apply(Object.assign({}, this.state, { sort: col.id, dir: dir }), true);
  };

  Widget.prototype.draw = function () {
    var self = this, table = this.table, state = this.state, view = this.view;
    if (this.filter.value !== state.q) this.filter.value = state.q;
    this.groupSelect.value = state.group || "";
    Object.keys(this.boxes).forEach(function (id) { self.boxes[id].checked = state.cols.indexOf(id) >= 0; });
    this.chooserSummary.textContent = "Columns (" + state.cols.length + " of " + table.columns.length + ")";
    var problems = [];
    if (view.error) problems.push(view.error);
    if (this.missing.length) problems.push("Not in this table, so left out of the view: " + this.missing.join(", "));
    this.error.textContent = problems.join(" · ");
    this.error.hidden = !problems.length;

    var groups = view.groups;
    var total = groups ? groups.length : view.rows.length;
    var pages = Math.max(1, Math.ceil(total / this.pageSize));
    if (this.page >= pages) this.page = pages - 1;
    if (this.page < 0) this.page = 0;
    var start = this.page * this.pageSize, end = Math.min(total, start + this.pageSize);

    var sorted = state.sort ? table.byId[state.sort] : null;
    var countText = fmtCount(view.rows.length) + " of " + fmtCount(table.n) + " runs";
    if (groups) countText += " in " + fmtCount(groups.length) + " groups by " + table.byId[state.group].label;
    if (sorted) {
      var how = sorted.goal ? ((sorted.goal === "max") === (state.dir === "desc") ? "best first" : "worst first")
                            : (state.dir === "asc" ? "ascending" : "descending");
      countText += " · sorted by " + sorted.label + ", " + how + " (blank last)";
    }
    this.count.textContent = countText;
    this.pageInfo.textContent = total ? (fmtCount(start + 1) + "–" + fmtCount(end) + " of " + fmtCount(total)) : "nothing to show";
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;

    var head = el("tr");
    var body = document.createDocumentFragment();
    if (groups) {
      var g = table.byId[state.group];
      var numberCols = groupNumberColumns(table, state);
      head.appendChild(this.headerCell(g));
      head.appendChild(el("th", "mlr-num", "Runs"));
      numberCols.forEach(function (c) {
        var th = self.headerCell(c);
        th.lastChild.textContent = header(c) + " mean ± std";
        head.appendChild(th);
      });
      groups.slice(start, end).forEach(function (group) {
        var tr = el("tr", "mlr-rt-grouprow");
        var td = el("td");
        var show = el("button", "mlr-rt-show", group.key === "" ? "(none)" : group.key);
        show.type = "button";
        show.title = "Show these runs";
        show.addEventListener("click", function () {
          var q = quoteField(g) + " = " + quoteValue(group.key);
          self.apply(Object.assign({}, state, { group: null, q: state.q && state.q.trim() ? "(" + state.q + ") and " + q : q }), true);
        });
        td.appendChild(show);
        tr.appendChild(td);
        tr.appendChild(el("td", "mlr-num", String(group.rows.length)));
        group.stats.forEach(function (s) { tr.appendChild(el("td", "mlr-num", fmtStat(s, group.rows.length))); });
        body.appendChild(tr);
      });
    } else {
      var cols = state.cols.map(function (id) { return table.byId[id]; }).filter(Boolean);
      cols.forEach(function (c) { head.appendChild(self.headerCell(c)); });
      for (var k = start; k < end; k++) {
        var r = view.rows[k];
        var tr = el("tr");
        for (var j = 0; j < cols.length; j++) tr.appendChild(this.cell(cols[j], r));
        body.appendChild(tr);
      }
    }
    this.thead.textContent = "";
    this.thead.appendChild(head);
    this.tbody.textContent = "";
    this.tbody.appendChild(body);
  };

  Widget.prototype.headerCell = function (c) {
    var self = this, state = this.state;
    var th = el("th", c.type !== "text" ? "mlr-num" : null);
    th.setAttribute("data-col", c.id);
    if (state.sort === c.id) th.setAttribute("aria-sort", state.dir === "asc" ? "ascending" : "descending");
    var button = el("button", "mlr-rt-sort", header(c));
    button.type = "button";
    button.title = "Sort by " + c.label + (c.goal ? " — " + goalText(c) : "");
    button.addEventListener("click", function () { self.sortBy(c); });
    th.appendChild(button);
    return th;
  };

  Widget.prototype.cell = function (c, r) {
    var table = this.table;
    var td = document.createElement("td");
    if (c.type !== "text") td.className = "mlr-num";
    else if (c.kind === "attribute") td.className = "mlr-nowrap";
    var text = shown(table, c, r);
    var target = td;
    if (c.id === "status" && /^[a-z]+$/.test(text)) {
      target = el("span", "mlr-status mlr-" + text);
      td.appendChild(target);
    }
    var url = c.links ? c.links[r] : null;
    if (url && text) {
      var a = document.createElement("a");
      a.setAttribute("href", url);
      target.appendChild(a);
      target = a;
    }
    target.textContent = text;
    return td;
  };

  Widget.prototype.download = function () {
    var text = viewCsv(this.table, this.state, this.view);
    var blob = new Blob([text], { type: "text/csv;charset=utf-8" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = this.name + "-view.csv";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  };

  function quoteField(col) {
    return /^[A-Za-z0-9_.\-\/:@]+$/.test(col.id) ? col.id : (KIND_PREFIX[col.kind] || "") + quoteValue(col.label);
  }

  function quoteValue(v) {
    return /^[A-Za-z0-9_.\-\/:@+]+$/.test(v) && !/^(and|or|not)$/i.test(v) ? v : '"' + v.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
  }

  /* Rows arrive as a data script (render/runs_table.py's data_script): the one way a page
   * opened from disk can read a file beside it, since browsers refuse fetch and XHR of file://.
   * The script calls receive(), which finds who asked for it by document.currentScript. */
  var pending = {};

  function receive(data) {
    var script = document.currentScript;
    var waiting = script ? pending[script.src] : undefined;
    if (!waiting) return;
    delete pending[script.src];
    waiting.forEach(function (cb) { cb(null, data); });
  }

  function loadRows(href, done) {
    if (pending[href]) { pending[href].push(done); return; }
    pending[href] = [done];
    var script = document.createElement("script");
    function fail(message) {
      var waiting = pending[href];
      delete pending[href];
      if (waiting) waiting.forEach(function (cb) { cb(new Error(message)); });
    }
    script.onload = function () { script.remove(); fail("it holds no rows"); };
    script.onerror = function () { script.remove(); fail("missing or refused"); };
    script.src = href;
    document.head.appendChild(script);
  }

  function mount(root) {
    if (root.hasAttribute("data-mounted")) return;
    root.setAttribute("data-mounted", "");
    var name = root.getAttribute("data-name") || "runs";
    var url = new URL(root.getAttribute("data-runs"), location.href);
    function failed(err) {
      var note = el("p", "mlr-rt-error", "The interactive table could not load " + url.pathname.split("/").pop() +
        " (" + (err && err.message ? err.message : "error") + "); the top rows and the CSV are above.");
      note.setAttribute("role", "alert");
      root.appendChild(note);
      root.setAttribute("data-failed", "");
    }
    loadRows(url.href, function (err, data) {
      if (err) { failed(err); return; }
      var widget;
      try { widget = new Widget(root, load(data), name); } catch (e) { failed(e); return; }
      root.mlreportRunsTable = widget;
      root.setAttribute("data-ready", "");
      window.addEventListener("hashchange", function () {
        if (!document.body.contains(root)) return;
        var read = readState(widget.table, name, location.hash);
        widget.missing = read.missing;
        widget.apply(read.state, false);
      });
    });
  }

  function start() {
    function init() { document.querySelectorAll("div.mlr-runs[data-runs]").forEach(mount); }
    if (typeof document$ !== "undefined" && document$.subscribe) document$.subscribe(init);
    else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
    else init();
  }

  return {
    fmtNumber: fmtNumber, load: load, tokenize: tokenize, parse: parse, compile: compile,
    FilterError: FilterError, sortRows: sortRows, groupRows: groupRows, computeView: computeView,
    defaultState: defaultState, readState: readState, writeState: writeState, viewCsv: viewCsv,
    shown: shown, quoteValue: quoteValue, addColumn: addColumn, start: start, receive: receive
  };
});
