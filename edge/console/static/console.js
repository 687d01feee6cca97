// Station console: live weights over a WebSocket, the lane panel redrawn when its lot
// changes, the sign-in keypad and the cold-room charts. Nothing loaded from outside.
(function () {
  "use strict";
  function kg(g) { return (Math.round(g / 10) / 100).toFixed(2) + " kg"; }
  function jin(g) { return (Math.round(g / 5) / 100).toFixed(2) + " 斤"; }
  function setText(root, sel, text) { var el = root.querySelector(sel); if (el) { el.textContent = text; } }

  function onLive(doc) {
    Object.keys(doc.lanes || {}).forEach(function (id) {
      var s = doc.lanes[id], el = document.getElementById("lane-" + id);
      if (!el) { return; }
      var net = s.net_g;
      setText(el, "[data-w-kg]", kg(net));
      setText(el, "[data-w-jin]", jin(net));
      setText(el, "[data-w-gross]", s.weight_g === null ? "—" : kg(s.weight_g));
      var box = el.querySelector("[data-weight]");
      if (box) { box.classList.toggle("is-stable", !!s.settled); }
      var st = el.querySelector("[data-stable]"), mv = el.querySelector("[data-moving]");
      if (st) { st.hidden = !s.settled; }
      if (mv) { mv.hidden = !!s.settled; }
      if (el.dataset.key !== s.key && window.htmx) {
        el.dataset.key = s.key;
        htmx.ajax("GET", "/console/lanes/" + encodeURIComponent(id) + "/panel",
          { target: "#lane-" + id, swap: "outerHTML" });
      }
    });
  }

  function live(on) {
    var a = document.querySelector("[data-live]"), b = document.querySelector("[data-live-off]");
    if (a) { a.hidden = !on; }
    if (b) { b.hidden = on; }
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + location.host + "/ws/lanes");
    ws.onopen = function () { live(true); };
    ws.onmessage = function (ev) { try { onLive(JSON.parse(ev.data)); } catch (e) { /* skip */ } };
    ws.onclose = function () { live(false); setTimeout(connect, 1000); };
  }

  function keypad() {
    document.querySelectorAll("[data-keypad]").forEach(function (pad) {
      var input = document.getElementById(pad.dataset.keypad);
      pad.addEventListener("click", function (ev) {
        var key = ev.target.closest("[data-key]");
        if (!key || !input) { return; }
        if (key.dataset.key === "del") { input.value = input.value.slice(0, -1); }
        else if (input.value.length < 8) { input.value += key.dataset.key; }
        input.focus();
      });
    });
  }

  function band(n, v) { var a = []; for (var i = 0; i < n; i++) { a.push(v); } return a; }

  function charts() {
    if (!window.uPlot) { return; }
    document.querySelectorAll(".charts").forEach(function (box) {
      var data = JSON.parse(box.querySelector(".chart-data").textContent);
      var n = data.t.length, b = data.band;
      box.querySelectorAll("[data-chart]").forEach(function (el) {
        var L = JSON.parse(el.dataset.labels), w = el.clientWidth || 560;
        var line = function (label, colour, dash) {
          return { label: label, stroke: colour, width: dash ? 2 : 2.5, dash: dash ? [8, 6] : undefined };
        };
        var opts, rows;
        if (el.dataset.chart === "temp") {
          opts = { title: el.dataset.title, width: w, height: 230, series: [{},
            line(L.mean, "#1f7a4d"), { label: L.min, stroke: "#8fb8a2", width: 1 },
            { label: L.max, stroke: "#8fb8a2", width: 1 },
            line(L.low, "#c62f3b", true), line(L.high, "#c62f3b", true)], axes: [{}, { label: "°C" }] };
          rows = [data.t, data.temp, data.temp_min, data.temp_max, band(n, b[0]), band(n, b[1])];
        } else {
          opts = { title: el.dataset.title, width: w, height: 230, series: [{},
            line(L.mean, "#2b6cb0"), line(L.low, "#c62f3b", true), line(L.high, "#c62f3b", true)],
            axes: [{}, { label: "%" }] };
          rows = [data.t, data.rh, band(n, b[2]), band(n, b[3])];
        }
        opts.tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Asia/Shanghai"); };
        var hm = uPlot.fmtDate("{HH}:{mm}"), full = uPlot.fmtDate("{M}/{D} {HH}:{mm}");
        opts.axes[0] = { values: function (u, vals) { return vals.map(function (v) { return hm(opts.tzDate(v)); }); } };
        opts.series[0] = { label: L.time, value: function (u, v) { return v == null ? "--" : full(opts.tzDate(v)); } };
        new uPlot(opts, rows, el);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    keypad();
    charts();
    if (document.querySelector("[data-lane]")) { connect(); }
  });
})();
