/* mlreport: the run entries of the search index are a second file, search/search_index.runs.json,
   loaded after the first part (issue 7: at 10,000 runs + 10,000 versions the part a browser
   loads before search answers stays under 4 MB). This code runs before Material's own search
   worker (it is prepended to Material's worker file) and wraps the worker's message listener:
   Material's SETUP builds the index from search_index.json and answers at once; then the run
   entries are fetched, the index is built again from both parts, and the last query is answered
   again, so runs appear in the open result list. The second READY is not passed on: the page
   listens for the first one only. Material 9.7's worker protocol: 0 SETUP, 1 READY, 2 QUERY,
   3 RESULT (pinned by tests/test_engine_search.py). */
(function () {
  "use strict";
  var add = self.addEventListener.bind(self);
  var post = self.postMessage.bind(self);
  var listener = null;
  var ready = false; // the first READY went out
  var rebuilding = false; // the second SETUP (both parts) is being built
  var last = null; // the last query asked

  self.postMessage = function (message) {
    if (message && message.type === 1) {
      if (!ready) {
        ready = true;
        post(message);
      } else if (rebuilding) {
        rebuilding = false;
        if (last !== null) listener({ data: { type: 2, data: last } });
      }
      return;
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
        if (message && message.type === 2) last = message.data;
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
