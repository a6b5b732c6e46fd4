// Charts of the officer's overview (Chart.js, served by the gateway), and the print button of a report.
(function () {
  'use strict';
  var print = document.getElementById('print');
  if (print) print.addEventListener('click', function () { window.print(); });
  var source = document.getElementById('stats');
  if (!source || typeof Chart === 'undefined') return;
  var stats = JSON.parse(source.textContent);
  var palette = ['#2f5d8a', '#c0752a', '#3b8a5a', '#8a3b6e', '#6b6f1f', '#1f6b6f', '#a32020', '#555'];

  var days = Array.from(new Set(stats.accessesByDay.map(function (r) { return r.day; }))).sort();
  var series = Array.from(new Set(stats.accessesByDay.map(function (r) { return r.recipient + ' · ' + r.purpose; }))).sort();
  new Chart(document.getElementById('accesses'), {
    type: 'bar',
    data: {
      labels: days,
      datasets: series.map(function (name, i) {
        return {
          label: name, backgroundColor: palette[i % palette.length],
          data: days.map(function (d) {
            var row = stats.accessesByDay.find(function (r) { return r.day === d && r.recipient + ' · ' + r.purpose === name; });
            return row ? row.count : 0;
          }),
        };
      }),
    },
    options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });

  new Chart(document.getElementById('fields'), {
    type: 'bar',
    data: {
      labels: stats.fieldsByRecipient.map(function (r) { return r.recipient; }),
      datasets: [
        { label: 'released', backgroundColor: '#3b8a5a', data: stats.fieldsByRecipient.map(function (r) { return r.released; }) },
        { label: 'withheld', backgroundColor: '#a32020', data: stats.fieldsByRecipient.map(function (r) { return r.withheld; }) },
      ],
    },
    options: { animation: false, scales: { y: { beginAtZero: true } } },
  });

  var sources = Array.from(new Set(stats.files.map(function (f) { return f.source; }))).sort();
  var states = Array.from(new Set(stats.files.map(function (f) { return f.state; }))).sort();
  new Chart(document.getElementById('files'), {
    type: 'bar',
    data: {
      labels: sources,
      datasets: states.map(function (state, i) {
        return {
          label: state, backgroundColor: palette[i % palette.length],
          data: sources.map(function (s) {
            var row = stats.files.find(function (f) { return f.source === s && f.state === state; });
            return row ? row.count : 0;
          }),
        };
      }),
    },
    options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
  document.body.setAttribute('data-charts', 'ready');
})();
