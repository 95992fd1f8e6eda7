/* Wires the page: the window selector, the verdict's refresh, the lag form, scale and kind with
the events and drops charts, the tables' refresh (the queues' sampled for their sparklines),
the live gauge. Every section covers the page's one window (body data-window, from ?window=):
choosing another loads the page for it, so the server-rendered sections and the link follow. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  const ns = window.EventDebug;
  const urls = document.body.dataset;
  const byId = function (id) {
    return document.getElementById(id);
  };

  byId("page-window").addEventListener("change", function () {
    byId("window-form").submit();
  });

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
    timeline.load({ kind: byId("lag-kind").value, since: urls.window });
    ns.loadDropsChart(urls.overflowUrl, urls.window, byId("drops-chart"));
  };
  byId("lag-form").addEventListener("submit", function (event) {
    event.preventDefault();
    loadLag();
  });
  byId("lag-kind").addEventListener("change", loadLag);
  byId("lag-log").addEventListener("change", function () {
    timeline.redraw();
  });
  // Charts are drawn at the container's width in CSS pixels: a resize draws them again.
  let resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      timeline.redraw();
      ns.loadDropsChart(urls.overflowUrl, urls.window, byId("drops-chart"));
    }, 200);
  });
  loadLag();

  // The server rendered the tables: refreshed from the API on demand and every 30 s (10 s the
  // queues, for their sparklines).
  const refreshOverflow = function () {
    return ns.refreshOverflowTable(urls.overflowUrl, byId("overflow-status"), byId("overflow-table"), urls.window);
  };
  const refreshQueues = function () {
    return ns.refreshQueuesTable(urls.channelsUrl, byId("queues-status"), byId("queues-table"));
  };
  const refreshWorstJobs = function () {
    return ns.refreshWorstJobsTable(urls.reportUrl, byId("worst-jobs-status"), byId("worst-jobs-table"), urls.window);
  };
  [
    ["overflow-refresh", refreshOverflow, ns.TABLES_REFRESH_MS],
    ["queues-refresh", refreshQueues, ns.QUEUES_REFRESH_MS],
    ["worst-jobs-refresh", refreshWorstJobs, ns.TABLES_REFRESH_MS],
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
