// Draws every chart of the page: each <div class="chart" data-figure="ID"> gets the plotly
// figure held as JSON in <script type="application/json" id="ID">.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("div.chart[data-figure]").forEach(function (div) {
    var source = document.getElementById(div.dataset.figure);
    if (!source || typeof Plotly === "undefined") { return; }
    var figure = JSON.parse(source.textContent);
    Plotly.newPlot(div, figure.data, figure.layout, { displaylogo: false, responsive: true });
  });
});
