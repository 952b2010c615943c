/* mlreport: the run entries of the search index are a second file, search/search_index.runs.json,
   and queries of several words are asked with every word required first. This code is prepended
   to Material's own search worker and wraps the worker's message listener and postMessage.

   1. The run entries are loaded after the first part (issue 7: at 10,000 runs + 10,000 versions
   the part a browser loads before search answers stays under 4 MB). Material's SETUP builds the
   index from search_index.json and answers at once; then the run entries are fetched, the index
   is built again from both parts, and the last query is answered again, so runs appear in the
   open result list. The second READY is not passed on: the page listens for the first one only.

   2. A query of several plain words is asked first as those words, each required. Material
   asks "version 2" as "version* 2*", any word, any word's prefix, and works through every entry
   that has one of them: in a catalog of 10,000 versions "version" is in every version's title
   and "bat*" in every version's "batch_size", so a two-word query costs half a second, most of
   it spent on entries that match one word and rank last. Asked as "+version +2" it costs a
   tenth of that and lists the entries that have both words, which rank first in Material's own
   answer. The words are asked whole: a required prefix ("+2*") is slower than the query it
   replaces, as lunr joins the matches of each word it expands to one by one. When no entry has
   every word (one is still being typed, or is in no entry), the query is asked again as the
   user typed it and Material's answer is shown. A query with search syntax (quotes, +, a
   leading -, ~, ^, a field, a wildcard) or with Chinese characters (Material splits those
   itself) is passed on as typed.

   3. A union of matches is joined once, when it is read. lunr's Index.query adds each word a
   prefix expands to into the clause's matches with Set.union, which copies both sets every time:
   a prefix that expands to n words over m documents costs n x m. Material asks every query a
   second time for its suggestion (search.suggest, on in mlreport's own site), each word a
   required prefix of a title: "version 2" asks "version*" and "2*", and "2*" expands to every
   number in the index that starts with 2. At 10,000 versions that second query took 200-300 ms
   of a 230-350 ms answer. Here a union keeps its two parts and copies them into one set the
   first time it is read (contains, intersect, its elements or length), in the order lunr's own
   union gives and with the length it gives (duplicates counted, as lunr counts them), so every
   answer is lunr's. Patched on lunr as Material's worker publishes it (self.lunr, set just
   before it adds its message listener).

   Material 9.7's worker protocol: 0 SETUP, 1 READY, 2 QUERY, 3 RESULT (pinned by
   tests/test_engine_search.py). */
(function () {
  "use strict";
  var add = self.addEventListener.bind(self);
  var post = self.postMessage.bind(self);
  var listener = null;
  var ready = false; // the first READY went out
  var rebuilding = false; // the second SETUP (both parts) is being built
  var last = null; // the last query asked
  var separator = /[\s\-]+/; // Material's default; SETUP brings the site's own
  var asked = []; // one entry per QUERY given to Material, in order: the query to ask if empty

  function allRequired(query) {
    if (typeof query !== "string" || /["+\-~^:*]|\p{sc=Han}/u.test(query.replace(/\b-\b/g, " "))) return null;
    var words = [];
    var parts = query.trim().split(/\s+/);
    for (var i = 0; i < parts.length; i++) {
      var pieces = parts[i].split(separator);
      for (var j = 0; j < pieces.length; j++) if (pieces[j]) words.push(pieces[j]);
    }
    if (words.length < 2) return null;
    return words.map(function (w) { return "+" + w; }).join(" ");
  }

  function ask(query) {
    var required = allRequired(query);
    asked.push(required === null ? null : query);
    listener({ data: { type: 2, data: required === null ? query : required } });
  }

  self.postMessage = function (message) {
    if (message && message.type === 1) {
      if (!ready) {
        ready = true;
        post(message);
      } else if (rebuilding) {
        rebuilding = false;
        if (last !== null) ask(last);
      }
      return;
    }
    if (message && message.type === 3) {
      var typed = asked.length ? asked.shift() : null;
      var items = message.data && message.data.items;
      // no entry has every word: ask as typed, unless a newer query is already on its way
      if (typed !== null && asked.length === 0 && items && items.length === 0) {
        asked.push(null);
        listener({ data: { type: 2, data: typed } });
        return;
      }
    }
    post(message);
  };

  function more(setup) {
    var url = new URL("../../../search/search_index.runs.json", self.location.href);
    fetch(url.href)
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (part) {
        if (!part || !part.docs || !part.docs.length) return;
        var data = {};
        for (var key in setup.data) data[key] = setup.data[key];
        data.docs = setup.data.docs.concat(part.docs);
        rebuilding = true;
        listener({ data: { type: 0, data: data } });
      })
      .catch(function (err) {
        console.warn("mlreport: the run entries of the search index did not load", err);
      });
  }

  // lunr's Set with unions joined when read (3. above); once per lunr
  function joinUnionsWhenRead(lunr) {
    var Set = lunr && lunr.Set;
    if (!Set || !Set.prototype || typeof Set.prototype.union !== "function" || Set.prototype.union.mlreport) return;

    function Union(left, right) {
      this.left = left;
      this.right = right;
      this.joined = null; // the elements, once read
      // lunr's union is a Set of both key lists concatenated: duplicates count in its length
      this.length = left.length + right.length;
    }
    Union.prototype = Object.create(Set.prototype);
    Union.prototype.constructor = Set;
    function join(union) {
      if (union.joined === null) {
        var elements = Object.create(null);
        var stack = [union]; // a union of unions is a chain as long as the words expanded
        while (stack.length) {
          var set = stack.pop();
          if (set instanceof Union && set.joined === null) {
            stack.push(set.right, set.left);
          } else {
            for (var key in set.elements) elements[key] = true; // a joined union: its joined keys
          }
        }
        union.joined = elements;
        union.left = union.right = null;
      }
      return union.joined;
    }
    Object.defineProperty(Union.prototype, "elements", {
      get: function () { return join(this); },
    });
    var union = function (other) {
      if (other === Set.complete) return Set.complete;
      if (other === Set.empty) return this;
      return new Union(this, other);
    };
    union.mlreport = true;
    Set.prototype.union = union;
  }

  self.addEventListener = function (type, fn, options) {
    if (type !== "message") return add(type, fn, options);
    joinUnionsWhenRead(self.lunr);
    listener = fn;
    var setupSeen = false;
    return add(
      type,
      function (event) {
        var message = event.data;
        if (message && message.type === 2) {
          last = message.data;
          ask(message.data);
          return;
        }
        if (message && message.type === 0 && message.data && message.data.config) {
          try {
            separator = new RegExp(message.data.config.separator || "[\\s\\-]+");
          } catch (err) {
            separator = /[\s\-]+/;
          }
        }
        fn(event);
        if (message && message.type === 0 && !setupSeen) {
          setupSeen = true;
          more(message);
        }
      },
      options
    );
  };
})();
