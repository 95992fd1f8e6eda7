/* The headline verdict (server-rendered from the check, verdict.html) refreshed from GET check/. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  const BADGES = { ok: "good", failed: "bad", unknown: "warn" };

  function title(check) {
    if (check.status === "ok") return "Lag, queue fill, drops, callback backlog and wsrelay are within their thresholds";
    if (check.status === "failed") {
      const n = check.failures.length;
      return n + " check" + (n === 1 ? "" : "s") + " failed";
    }
    return "Some figures could not be checked";
  }

  function figure(value, digits, unit) {
    return value === null || value === undefined ? "–" : value.toFixed(digits) + unit;
  }

  function count(value) {
    return value === null || value === undefined ? "–" : String(value);
  }

  ns.showVerdict = function (section, check, windowLength) {
    section.className = "card verdict " + check.status;
    section.dataset.status = check.status;
    document.getElementById("verdict-title").replaceChildren(
      ns.el("span", { class: "badge " + BADGES[check.status] }, check.status.toUpperCase()),
      " " + title(check) + " ",
      ns.el("span", { class: "sub" }, "over the last " + windowLength),
    );
    document.getElementById("verdict-lines").replaceChildren(
      ...check.failures.map(function (line) {
        return ns.el("li", { class: "failure" }, [ns.el("span", { class: "badge bad" }, "failed"), " " + line]);
      }),
      ...check.unchecked.map(function (line) {
        return ns.el("li", { class: "unchecked" }, [ns.el("span", { class: "badge warn" }, "unknown"), " " + line]);
      }),
    );
    const f = check.figures;
    const t = check.thresholds;
    document.getElementById("verdict-figures").replaceChildren(
      ns.el("dt", {}, "Lag p99 (worst kind)"),
      ns.el("dd", {}, figure(f.max_p99, 3, " s") + " · max " + t.max_p99 + " s"),
      ns.el("dt", {}, "Fullest queue"),
      ns.el("dd", {}, figure(f.max_fill, 1, " %") + " · max " + t.max_fill + " %"),
      ns.el("dt", {}, "Drops"),
      ns.el("dd", {}, count(f.drops) + " · max " + t.max_drops),
      ns.el("dt", {}, "Callback backlog (worst node)"),
      ns.el("dd", {}, count(f.max_backlog) + " · max " + t.max_backlog),
      ns.el("dt", {}, "Oldest queued event"),
      ns.el("dd", {}, figure(f.max_backlog_age, 1, " s") + " · max " + t.max_backlog_age + " s"),
      ns.el("dt", {}, "wsrelay connections down"),
      ns.el("dd", {}, count(f.relay_down) + " · max " + t.max_relay_down),
    );
  };

  ns.refreshVerdict = async function (url, section, windowLength) {
    try {
      function count(value) {
    return value === null || value === undefined ? "–" : String(value);
  }

  ns.showVerdict(section, await ns.getJSON(ns.apiURL(url, {})), windowLength);
    } catch (err) {
      // The last verdict stays, marked stale: a refresh that failed says nothing about the path.
      section.dataset.stale = err.message;
    }
  };
})(window.EventDebug);
