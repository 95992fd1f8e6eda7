/* The headline verdict (server-rendered from the check, verdict.html) refreshed from GET check/
   over the page's window. Its rows are the hops' thresholds as the server lists them
   (#verdict-thresholds). Each status is its own CSS class: one the check adds shows as itself. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  // As dashboard/views.py verdict_title.
  const TITLES = { ok: "Every figure is within its threshold", unknown: "Some figures could not be checked" };

  function title(check) {
    if (check.status === "failed") {
      const n = check.failures.length;
      return n + " check" + (n === 1 ? "" : "s") + " failed";
    }
    if (check.status === "idle") return "Nothing to judge: " + check.idle.join("; ");
    return TITLES[check.status] || check.headline || "";
  }

  // As Threshold.shown() writes it on the server: a count with separators, else to its digits
  // (a figure) or as written (a threshold), with its unit.
  function shown(spec, value, figure) {
    if (value === null || value === undefined) return "–";
    if (spec.count) {
      const count = Math.trunc(value);
      return count.toLocaleString("en-US") + " " + (count === 1 ? spec.unit.replace(/s$/, "") : spec.unit);
    }
    const number = figure ? value.toFixed(spec.digits) : String(value);
    if (spec.unit === "%") return number + "%";
    return spec.unit ? number + " " + spec.unit : number;
  }

  // A hop over its threshold with its cause, as verdict.html renders it.
  function causeItem(found) {
    const where = found.node ? " on " + found.node : "";
    return ns.el("li", { class: "cause" }, [
      ns.el("span", { class: "badge bad" }, "cause"),
      " hop " + found.hop + " " + found.name + where + ": ",
      ns.el("strong", {}, ns.codeSpans(found.cause)),
      " ",
      ns.el("span", { class: "evidence" }, ns.codeSpans(found.evidence)),
      " ",
      ns.el("span", { class: "remedy" }, ["Remedy: ", ...ns.codeSpans(found.remedy)]),
      " ",
      ns.el("span", { class: "runbook" }, ["Runbook: ", ns.el("a", { href: found.runbook }, found.runbook)]),
    ]);
  }

  // What the check shows beside its judgment, as health/snapshot.py shown_findings lists it.
  function shownFindings(check) {
    return [
      ...(check.clock_skew ? check.clock_skew.findings : []).map((finding) => ["node", finding]),
      ...(check.websocket_rate ? check.websocket_rate.findings : []).map((finding) => ["ui", finding]),
      ...Object.entries(check.unread).map(([name, error]) => ["unread", name + ": " + error]),
    ];
  }

  ns.showVerdict = function (section, check, windowLength) {
    section.className = "card verdict " + check.status;
    section.dataset.status = check.status;
    document.getElementById("verdict-title").replaceChildren(
      ns.el("span", { class: "badge " + check.status }, check.status.toUpperCase()),
      " " + title(check) + " ",
      ns.el("span", { class: "sub" }, "over the last " + windowLength),
    );
    document.getElementById("verdict-lines").replaceChildren(
      ...check.failures.map(function (line) {
        return ns.el("li", { class: "failure" }, [ns.el("span", { class: "badge failed" }, "failed"), " ", ...ns.codeSpans(line)]);
      }),
      ...check.causes.map(causeItem),
      ...check.unchecked.map(function (line) {
        return ns.el("li", { class: "unchecked" }, [ns.el("span", { class: "badge unknown" }, "unknown"), " ", ...ns.codeSpans(line)]);
      }),
      ...shownFindings(check).map(function ([what, finding]) {
        return ns.el("li", { class: "finding" }, [ns.el("span", { class: "badge note" }, what), " ", ...ns.codeSpans(finding)]);
      }),
    );
    const specs = JSON.parse(document.getElementById("verdict-thresholds").textContent);
    document.getElementById("verdict-figures").replaceChildren(
      ...specs.flatMap(function (spec) {
        const figure = shown(spec, check.figures[spec.figure], true);
        return [
          ns.el("dt", {}, spec.label),
          ns.el("dd", {}, figure + " · max " + shown(spec, check.thresholds[spec.limit], false)),
        ];
      }),
    );
  };

  ns.refreshVerdict = async function (url, section, windowLength) {
    try {
      ns.showVerdict(section, await ns.getJSON(ns.apiURL(url, { since: windowLength })), windowLength);
    } catch (err) {
      // The last verdict stays, marked stale: a refresh that failed says nothing about the path.
      section.dataset.stale = err.message;
    }
  };
})(window.EventDebug);
