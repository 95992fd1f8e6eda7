/* Wires the page: the lag form and selectors, the two tables' refresh, and the live gauge. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  const ns = window.EventDebug;
  const urls = document.body.dataset;
  const byId = function (id) {
    return document.getElementById(id);
  };

  const lagForm = byId("lag-form");
  const loadLag = function () {
    ns.loadLagTimeline(urls.lagUrl, { kind: byId("lag-kind").value, since: byId("lag-window").value }, byId("lag-chart"), byId("lag-summary"));
  };
  lagForm.addEventListener("submit", function (event) {
    event.preventDefault();
    loadLag();
  });
  byId("lag-kind").addEventListener("change", loadLag);
  byId("lag-window").addEventListener("change", loadLag);
  loadLag();

  // The server rendered both tables: refreshed from the API on demand and every 30 s.
  const refreshOverflow = function () {
    return ns.refreshOverflowTable(urls.overflowUrl, byId("overflow-status"), byId("overflow-table"));
  };
  const refreshQueues = function () {
    return ns.refreshQueuesTable(urls.channelsUrl, byId("queues-status"), byId("queues-table"));
  };
  [
    ["overflow-refresh", refreshOverflow],
    ["queues-refresh", refreshQueues],
  ].forEach(function ([id, refresh]) {
    const button = byId(id);
    button.hidden = false;
    button.addEventListener("click", refresh);
    window.setInterval(refresh, ns.TABLES_REFRESH_MS);
  });

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
