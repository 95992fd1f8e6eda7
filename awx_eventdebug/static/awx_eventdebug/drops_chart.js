/* Overflow drops per minute over the lag chart's window, from GET overflow/summary/?timeline=minute:
the per-group timelines of the groups with the most drops, added up per minute. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  // Groups whose timelines are added up; the status line says when there are more.
  ns.DROPS_CHART_GROUPS = 200;

  ns.dropsPerMinute = function (summary) {
    const minutes = new Map();
    (summary.groups || []).forEach(function (group) {
      (group.timeline || []).forEach(function (point) {
        const time = Date.parse(point.at);
        if (isFinite(time)) minutes.set(time, (minutes.get(time) || 0) + point.drops);
      });
    });
    return Array.from(minutes, function ([t, v]) {
      return { t: t, v: v };
    }).sort(function (a, b) {
      return a.t - b.t;
    });
  };

  ns.loadDropsChart = async function (url, since, container) {
    try {
      const summary = await ns.getJSON(ns.apiURL(url, { timeline: "minute", since: since, limit: ns.DROPS_CHART_GROUPS }));
      const end = Math.ceil(Date.now() / ns.MINUTE) * ns.MINUTE; // the current minute's bar fits
      const start = Date.parse(summary.filters.since);
      const root = ns.drawMinuteBars(container, ns.dropsPerMinute(summary), start, end, {
        label: "Overflow drops per minute",
        empty: "No drops in this window",
        unit: "drops",
        kind: "drops",
        height: 110,
      });
      root.setAttribute("data-groups", String(summary.shown_groups) + "/" + String(summary.groups_total));
    } catch (err) {
      container.replaceChildren(ns.el("p", { class: "status error" }, "Drops chart unavailable: " + err.message));
    }
  };
})(window.EventDebug);
