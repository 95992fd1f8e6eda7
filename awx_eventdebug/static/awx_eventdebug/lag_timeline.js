/* The per-minute lag chart: p50, p95 and p99 from GET lag/?by=minute, drawn as inline SVG. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  const SERIES = ["p50", "p95", "p99"];
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 1120;
  const HEIGHT = 300;
  const MARGIN = { top: 26, right: 18, bottom: 30, left: 62 };
  const MINUTE = 60000;
  const TICK_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720];

  ns.LAG_PERCENTILES = "50,95,99";

  // One point per minute group and series: {t: ms since epoch, v: seconds, n: events}.
  ns.minutePoints = function (lag) {
    const points = { p50: [], p95: [], p99: [] };
    (lag.groups || []).forEach(function (group) {
      // Minute keys are ISO 8601 strings; epoch seconds are accepted too.
      const time = typeof group.key === "number" ? group.key * 1000 : Date.parse(group.key);
      if (!isFinite(time) || !group.percentiles) return;
      SERIES.forEach(function (name) {
        const value = group.percentiles[name];
        if (typeof value === "number") points[name].push({ t: time, v: value, n: group.count });
      });
    });
    return points;
  };

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attributes || {}).forEach(function ([name, value]) {
      node.setAttribute(name, value);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function niceStep(span, ticks) {
    const raw = span / ticks;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const factor = [1, 2, 2.5, 5, 10].find(function (f) {
      return f * power >= raw;
    });
    return factor * power;
  }

  function clock(time) {
    const date = new Date(time);
    return String(date.getHours()).padStart(2, "0") + ":" + String(date.getMinutes()).padStart(2, "0");
  }

  // Lines break where minutes have no events, rather than drawing a slope across the hole.
  function segments(points) {
    const runs = [];
    let run = [];
    points.forEach(function (point, index) {
      if (index > 0 && point.t - points[index - 1].t > 1.5 * MINUTE) {
        runs.push(run);
        run = [];
      }
      run.push(point);
    });
    if (run.length) runs.push(run);
    return runs;
  }

  ns.drawLagChart = function (container, lag) {
    const points = ns.minutePoints(lag);
    const all = SERIES.flatMap(function (name) {
      return points[name];
    });
    const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const minutes = (lag.groups || []).length;
    const root = svg("svg", {
      viewBox: "0 0 " + WIDTH + " " + HEIGHT,
      role: "img",
      "aria-label": "Lag per minute, p50 p95 p99",
      "data-points": String(minutes),
    });

    let start = Date.parse(lag.since);
    let end = Date.parse(lag.until);
    if (all.length) {
      const times = all.map(function (p) {
        return p.t;
      });
      if (!isFinite(start)) start = Math.min.apply(null, times);
      if (!isFinite(end)) end = Math.max.apply(null, times) + MINUTE;
    }
    if (!all.length || !isFinite(start) || !isFinite(end) || end <= start) {
      root.append(
        svg("text", { x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle", class: "empty" }, "No events in this window"),
      );
      container.replaceChildren(root);
      return root;
    }

    const top = Math.max.apply(
      null,
      all.map(function (p) {
        return p.v;
      }),
    );
    const yStep = niceStep(Math.max(top, 0.001), 5);
    const yMax = Math.ceil((top * 1.05) / yStep) * yStep || yStep;
    const x = function (time) {
      return MARGIN.left + ((time - start) / (end - start)) * plotWidth;
    };
    const y = function (value) {
      return MARGIN.top + plotHeight - (Math.max(value, 0) / yMax) * plotHeight;
    };

    for (let value = 0; value <= yMax + yStep / 2; value += yStep) {
      root.append(svg("line", { class: "grid", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }));
      root.append(
        svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end" }, ns.formatSeconds(value).replace(/\.?0+ s$/, " s")),
      );
    }
    const tickMinutes =
      TICK_MINUTES.find(function (m) {
        return (end - start) / (m * MINUTE) <= 10;
      }) || 1440;
    const firstTick = Math.ceil(start / (tickMinutes * MINUTE)) * tickMinutes * MINUTE;
    for (let time = firstTick; time <= end; time += tickMinutes * MINUTE) {
      root.append(svg("line", { class: "axis", x1: x(time), x2: x(time), y1: MARGIN.top + plotHeight, y2: MARGIN.top + plotHeight + 4 }));
      root.append(svg("text", { x: x(time), y: HEIGHT - 10, "text-anchor": "middle" }, clock(time)));
    }
    root.append(svg("line", { class: "axis", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0) }));

    SERIES.forEach(function (name) {
      const group = svg("g", { "data-series": name });
      segments(points[name]).forEach(function (run) {
        const coordinates = run.map(function (p) {
          return x(p.t).toFixed(1) + "," + y(p.v).toFixed(1);
        });
        group.append(svg("polyline", { class: "series " + name, points: coordinates.join(" ") }));
      });
      points[name].forEach(function (p) {
        const dot = svg("circle", { class: name, cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 2.4 });
        dot.append(svg("title", {}, clock(p.t) + "  " + name + " " + ns.formatSeconds(p.v) + "  (" + p.n + " events)"));
        group.append(dot);
      });
      root.append(group);
    });

    const legend = svg("g", { class: "legend" });
    SERIES.forEach(function (name, index) {
      const left = MARGIN.left + 8 + index * 70;
      legend.append(svg("line", { class: "series " + name, x1: left, x2: left + 18, y1: 12, y2: 12 }));
      legend.append(svg("text", { x: left + 23, y: 16 }, name));
    });
    root.append(legend);
    container.replaceChildren(root);
    return root;
  };

  ns.lagSummary = function (lag) {
    const p = lag.percentiles || {};
    const parts = [
      "<b>" + ns.formatNumber(lag.count) + "</b> events",
      "p50 <b>" + ns.formatSeconds(p.p50) + "</b>",
      "p95 <b>" + ns.formatSeconds(p.p95) + "</b>",
      "p99 <b>" + ns.formatSeconds(p.p99) + "</b>",
      "max <b>" + ns.formatSeconds(lag.max) + "</b>",
    ];
    if (lag.missing_created) parts.push(ns.formatNumber(lag.missing_created) + " without created");
    if (lag.negative) parts.push(ns.formatNumber(lag.negative) + " with negative lag");
    return parts.join(" · ");
  };

  // Fetches and draws; errors (400 naming a field, 503 on a statement timeout) go to the summary.
  ns.loadLagTimeline = async function (url, params, chart, summary) {
    summary.textContent = "Loading…";
    try {
      const lag = await ns.getJSON(ns.apiURL(url, Object.assign({ by: "minute", percentiles: ns.LAG_PERCENTILES }, params)));
      ns.drawLagChart(chart, lag);
      // Only numbers and fixed words go into this HTML (formatNumber/formatSeconds).
      summary.innerHTML = ns.lagSummary(lag);
      summary.classList.remove("error");
    } catch (err) {
      chart.replaceChildren();
      summary.textContent = "Lag timeline unavailable: " + err.message;
      summary.classList.add("error");
    }
  };
})(window.EventDebug);
