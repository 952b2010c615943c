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

  self.addEventListener = function (type, fn, options) {
    if (type !== "message") return add(type, fn, options);
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
