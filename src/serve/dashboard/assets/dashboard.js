// tweetstream dashboard: refreshes the server-drawn panels as soon as a batch
// closes (the engine pushes it, as Server-Sent Events), and every few seconds
// as a fallback.
// When the engine cannot be reached, the last panels stay on screen, dimmed,
// under a banner that says since when; the next successful poll clears it.
(function () {
  "use strict";
  var every = Number(document.body.dataset.refreshMs) || 5000;
  var panels = document.getElementById("panels");
  var conn = document.getElementById("conn");
  var failingSince = null;

  function clock(d) {
    return d.toISOString().slice(11, 19) + " UTC";
  }

  function show(html) {
    // Keep the scroll position of the tables across the swap.
    var scrolls = {};
    panels.querySelectorAll(".scroll[id]").forEach(function (el) { scrolls[el.id] = el.scrollTop; });
    panels.innerHTML = html;
    Object.keys(scrolls).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.scrollTop = scrolls[id];
    });
  }

  function unreachable(why) {
    if (failingSince === null) failingSince = new Date();
    document.body.dataset.state = "unreachable";
    panels.classList.add("dim");
    conn.hidden = false;
    conn.textContent = "Engine unreachable since " + clock(failingSince) + " (" + why +
      "). Showing the last data received; retrying every " + every / 1000 + " s.";
  }

  // The charts are drawn on the server at the width they get on this screen.
  function widths() {
    var q = [];
    var s = document.querySelector("#sentiment .plot");
    var t = document.querySelector(".tagchart");
    if (s) q.push("sentiment=" + Math.floor(s.clientWidth));
    if (t) q.push("tags=" + Math.floor(t.clientWidth));
    return q.length ? "?" + q.join("&") : "";
  }

  var timer = null;
  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  // Requests go to the page's origin, which never holds user info: a page
  // opened as https://me:TOKEN@host/ would make a relative URL carry the
  // credentials, which fetch refuses. The browser still sends the
  // credentials it was given for this origin.
  var origin = window.location.origin;

  function poll() {
    fetch(origin + "/panels" + widths(), { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        show(html);
        failingSince = null;
        panels.classList.remove("dim");
        conn.hidden = true;
        var view = document.getElementById("view");
        document.body.dataset.state = view ? view.dataset.state : "live";
        document.body.dataset.refreshed = String(Date.now());
      })
      .catch(function (e) { unreachable(e.message || String(e)); })
      .then(function () {
        // For scripts and tests that wait on the page instead of sleeping.
        document.dispatchEvent(new Event("tweetstream:refreshed"));
        schedule(every);
      });
  }

  var view = document.getElementById("view");
  if (view) document.body.dataset.state = view.dataset.state;
  window.addEventListener("resize", function () { schedule(200); });
  poll();
  // A batch closed: refresh now rather than at the next poll. (The browser
  // reconnects by itself if the engine goes away and comes back.)
  if (window.EventSource) {
    var pushed = new EventSource(origin + "/tables/batches/watch?limit=1");
    pushed.addEventListener("table", function () { schedule(0); });
  }
})();
