/* Wires the page: the verdict's refresh, the lag form, scale and selectors with the events and
drops charts, the two tables' refresh (the queues' sampled for their sparklines), the live gauge. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  const ns = window.EventDebug;
  const urls = document.body.dataset;
  const byId = function (id) {
    return document.getElementById(id);
  };

  const refreshVerdict = function () {
    return ns.refreshVerdict(urls.checkUrl, byId("verdict"), urls.window);
  };
  window.setInterval(refreshVerdict, ns.TABLES_REFRESH_MS);

  const timeline = new ns.LagTimeline(
    urls.lagUrl,
    { chart: byId("lag-chart"), events: byId("lag-events"), summary: byId("lag-summary"), log: byId("lag-log") },
    Number(urls.maxP99),
  );
  const loadLag = function () {
    const since = byId("lag-window").value;
    timeline.load({ kind: byId("lag-kind").value, since: since });
    ns.loadDropsChart(urls.overflowUrl, since, byId("drops-chart"));
  };
  byId("lag-form").addEventListener("submit", function (event) {
    event.preventDefault();
    loadLag();
  });
  byId("lag-kind").addEventListener("change", loadLag);
  byId("lag-window").addEventListener("change", loadLag);
  byId("lag-log").addEventListener("change", function () {
    timeline.redraw();
  });
  // Charts are drawn at the container's width in CSS pixels: a resize draws them again.
  let resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      timeline.redraw();
      ns.loadDropsChart(urls.overflowUrl, byId("lag-window").value, byId("drops-chart"));
    }, 200);
  });
  loadLag();

  // The server rendered both tables: refreshed from the API on demand and every 30 s.
  const refreshOverflow = function () {
    return ns.refreshOverflowTable(urls.overflowUrl, byId("overflow-status"), byId("overflow-table"));
  };
  const refreshQueues = function () {
    return ns.refreshQueuesTable(urls.channelsUrl, byId("queues-status"), byId("queues-table"));
  };
  [
    ["overflow-refresh", refreshOverflow, ns.TABLES_REFRESH_MS],
    ["queues-refresh", refreshQueues, ns.QUEUES_REFRESH_MS],
  ].forEach(function ([id, refresh, every]) {
    const button = byId(id);
    button.hidden = false;
    button.addEventListener("click", refresh);
    window.setInterval(refresh, every);
  });
  refreshQueues(); // the first point of each sparkline

  const gauge = new ns.LiveGauge(
    {
      status: byId("gauge-status"),
      jobStatus: byId("gauge-job-status"),
      mean: byId("gauge-avg"),
      stdev: byId("gauge-stdev"),
      max: byId("gauge-max"),
      rate: byId("gauge-rate"),
      count: byId("gauge-count"),
      gaps: byId("gauge-gaps"),
      stop: byId("gauge-stop"),
      plot: byId("gauge-plot"),
    },
    { path: urls.websocketPath, cookieName: urls.csrfCookie },
  );
  byId("gauge-form").addEventListener("submit", function (event) {
    event.preventDefault();
    gauge.watch(byId("gauge-kind").value, Number(byId("gauge-job").value));
  });
  byId("gauge-stop").addEventListener("click", function () {
    gauge.stop();
  });
});
