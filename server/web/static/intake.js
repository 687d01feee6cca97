// Daily intake chart (uPlot, served by this server): kg per day per product × grade,
// the day's total, and the stations' summed daily target as a dashed line.
(function () {
  "use strict";
  var box = document.getElementById("intake-chart");
  var src = document.getElementById("intake-data");
  if (!box || !src || !window.uPlot) { return; }
  var d = JSON.parse(src.textContent);
  var colours = { extra: "#1f7a4d", class_i: "#4c9a2a", class_ii: "#e0a100", reject: "#c62f3b" };
  var dashes = [[], [6, 3], [2, 2], [8, 2, 2, 2]];
  var data = [d.x];
  var series = [{ label: d.x_label, value: "{YYYY}-{MM}-{DD}" }];
  d.series.forEach(function (s, n) {
    data.push(s.kg);
    series.push({ label: s.label, stroke: colours[s.grade] || "#555", width: 2,
      dash: dashes[Math.floor(n / 4) % dashes.length], points: { show: true, size: 5 } });
  });
  data.push(d.total.kg);
  series.push({ label: d.total.label, stroke: "#1c2420", width: 3, points: { show: true, size: 6 } });
  if (d.target) {
    data.push(d.x.map(function () { return d.target.kg; }));
    series.push({ label: d.target.label, stroke: "#c62f3b", width: 2, dash: [8, 6], points: { show: false } });
  }
  var kg = function (u, v) { return v == null ? "—" : v.toLocaleString(undefined, { maximumFractionDigits: 1 }) + " kg"; };
  series.forEach(function (s, n) { if (n > 0) { s.value = kg; } });
  var opts = {
    width: Math.max(320, box.clientWidth), height: 320,
    tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
    scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(10, max * 1.1)]; } } },
    axes: [
      { values: "{YYYY}-{MM}-{DD}", space: 90 },
      { label: d.y_label, size: 70 }
    ],
    series: series,
    legend: { live: true }
  };
  var plot = new uPlot(opts, data, box);
  box.dataset.rendered = "1";
  window.addEventListener("resize", function () {
    plot.setSize({ width: Math.max(320, box.clientWidth), height: 320 });
  });
})();
