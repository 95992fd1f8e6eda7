/* The per-minute lag chart: p50, p95 and p99 from GET lag/?by=minute as inline SVG, with the
CHECK_MAX_P99 threshold as a line, a linear or log scale, and the events per minute under it. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  const SERIES = ["p50", "p95", "p99"];

  ns.LAG_PERCENTILES = "50,95,99";

  // One point per minute group and series: {t: ms since epoch, v: seconds, n: events}.
  ns.minutePoints = function (lag) {
    const points = { p50: [], p95: [], p99: [] };
    (lag.groups || []).forEach(function (group) {
      // Minute keys are ISO 8601 strings; epoch seconds are accepted too.
      const time = typeof group.key === "number" ? group.key * 1000 : Date.parse(group.key);
      if (!isFinite(time) || !group.percentiles_seconds) return;
      SERIES.forEach(function (name) {
        const value = group.percentiles_seconds[name];
        if (typeof value === "number") points[name].push({ t: time, v: value, n: group.count });
      });
    });
    return points;
  };

  // The events of each minute (all of them, with or without a lag).
  ns.minuteCounts = function (lag) {
    return (lag.groups || [])
      .map(function (group) {
        return { t: typeof group.key === "number" ? group.key * 1000 : Date.parse(group.key), v: group.count };
      })
      .filter(function (bar) {
        return isFinite(bar.t);
      });
  };

  // Lines break where minutes have no events, rather than drawing a slope across the hole.
  function segments(points) {
    const runs = [];
    let run = [];
    points.forEach(function (point, index) {
      if (index > 0 && point.t - points[index - 1].t > 1.5 * ns.MINUTE) {
        runs.push(run);
        run = [];
      }
      run.push(point);
    });
    if (run.length) runs.push(run);
    return runs;
  }

  ns.chartSpan = function (lag, times) {
    let start = Date.parse(lag.since);
    let end = Date.parse(lag.until);
    if (times.length) {
      if (!isFinite(start)) start = Math.min.apply(null, times);
      if (!isFinite(end)) end = Math.max.apply(null, times) + ns.MINUTE;
    }
    return [start, end];
  };

  // Linear from 0, or log10 from the decade under the smallest value (a spike no longer
  // flattens p50); ticks and the value -> y mapping either way.
  function yScale(values, top, log, plotHeight) {
    const bottomY = ns.MARGIN.top + plotHeight;
    if (log) {
      const smallest = Math.min.apply(
        null,
        values.filter(function (v) {
          return v > 0;
        }),
      );
      const low = Math.floor(Math.log10(isFinite(smallest) ? smallest : 0.001));
      const high = Math.max(low + 1, Math.ceil(Math.log10(top)));
      const ticks = [];
      for (let power = low; power <= high; power++) ticks.push(Math.pow(10, power));
      return {
        ticks: ticks,
        y: function (value) {
          const clamped = Math.max(value, Math.pow(10, low));
          return bottomY - ((Math.log10(clamped) - low) / (high - low)) * plotHeight;
        },
      };
    }
    return ns.linearScale(top, 5, plotHeight);
  }

  // options: {log: bool, threshold: seconds (CHECK_MAX_P99) or NaN}
  ns.drawLagChart = function (container, lag, options) {
    options = options || {};
    const points = ns.minutePoints(lag);
    const all = SERIES.flatMap(function (name) {
      return points[name];
    });
    const width = ns.chartWidth(container);
    const height = width < 600 ? 240 : 300;
    const plotHeight = height - ns.MARGIN.top - ns.MARGIN.bottom;
    const root = ns.svg("svg", {
      width: width,
      height: height,
      viewBox: "0 0 " + width + " " + height,
      role: "img",
      "aria-label": "Lag per minute, p50 p95 p99" + (options.log ? ", log scale" : ""),
      "data-points": String((lag.groups || []).length),
      "data-scale": options.log ? "log" : "linear",
    });
    const [start, end] = ns.chartSpan(
      lag,
      all.map(function (p) {
        return p.t;
      }),
    );
    if (!all.length || !isFinite(start) || !isFinite(end) || end <= start) {
      ns.emptyChart(root, width, height, "No events in this window");
      container.replaceChildren(root);
      return root;
    }
    const values = all.map(function (p) {
      return p.v;
    });
    const threshold = isFinite(options.threshold) && options.threshold > 0 ? options.threshold : null;
    const top = Math.max.apply(null, values.concat(threshold ? [threshold] : []));
    const scale = yScale(values, top, options.log, plotHeight);
    ns.valueAxis(root, scale, width, ns.shortSeconds);
    const x = ns.timeAxis(root, start, end, width, height);

    if (threshold) {
      // The label is a legend entry above the plot, right-aligned, with a sample of the dashed
      // line: beside the line itself a series running along it would cross it.
      const right = width - ns.MARGIN.right;
      const line = ns.svg("g", { class: "threshold", "data-threshold": String(threshold) });
      line.append(ns.svg("line", { x1: ns.MARGIN.left, x2: right, y1: scale.y(threshold), y2: scale.y(threshold) }));
      line.append(ns.svg("text", { x: right, y: 16, "text-anchor": "end" }, "max p99 " + ns.formatSeconds(threshold)));
      root.append(line);
    }

    SERIES.forEach(function (name) {
      const group = ns.svg("g", { "data-series": name });
      segments(points[name]).forEach(function (run) {
        const coordinates = run.map(function (p) {
          return x(p.t).toFixed(1) + "," + scale.y(p.v).toFixed(1);
        });
        group.append(ns.svg("polyline", { class: "series " + name, points: coordinates.join(" ") }));
      });
      points[name].forEach(function (p) {
        const dot = ns.svg("circle", { class: name, cx: x(p.t).toFixed(1), cy: scale.y(p.v).toFixed(1), r: 2.4 });
        dot.append(ns.svg("title", {}, ns.clock(p.t) + "  " + name + " " + ns.formatSeconds(p.v) + "  (" + p.n + " events)"));
        group.append(dot);
      });
      root.append(group);
    });

    const legend = ns.legend(
      root,
      SERIES.map(function (name) {
        return [name, name];
      }),
    );
    container.replaceChildren(root);
    if (threshold) {
      // Measured in place: a sample of the dashed line left of the label, where it clears the legend.
      const label = root.querySelector(".threshold text").getBBox();
      const legendEnd = legend.getBBox().x + legend.getBBox().width;
      if (label.x - 24 > legendEnd + 8) {
        root.querySelector(".threshold").append(ns.svg("line", { class: "sample", x1: label.x - 24, x2: label.x - 5, y1: 12, y2: 12 }));
      }
    }
    return root;
  };

  ns.drawEventsChart = function (container, lag) {
    const bars = ns.minuteCounts(lag);
    const [start, end] = ns.chartSpan(
      lag,
      bars.map(function (bar) {
        return bar.t;
      }),
    );
    return ns.drawMinuteBars(container, bars, start, end, {
      label: "Events per minute",
      empty: "No events in this window",
      unit: "events",
      kind: "events",
    });
  };

  ns.lagSummary = function (lag) {
    const p = lag.percentiles_seconds || {};
    const parts = [
      "<b>" + ns.formatNumber(lag.count) + "</b> events",
      "p50 <b>" + ns.formatSeconds(p.p50) + "</b>",
      "p95 <b>" + ns.formatSeconds(p.p95) + "</b>",
      "p99 <b>" + ns.formatSeconds(p.p99) + "</b>",
      "max <b>" + ns.formatSeconds(lag.max_seconds) + "</b>",
    ];
    if (lag.missing_created_count) parts.push(ns.formatNumber(lag.missing_created_count) + " without created");
    if (lag.negative_count) parts.push(ns.formatNumber(lag.negative_count) + " with negative lag");
    return parts.join(" · ");
  };

  // Fetches (once per change of kind or window) and draws; redraw() draws the last answer again
  // (scale toggle, resize). Errors (400 naming a field, 503 on a statement timeout) go to the summary.
  ns.LagTimeline = function (url, elements, threshold) {
    this.url = url;
    this.elements = elements;
    this.threshold = threshold;
    this.lag = null;
  };

  ns.LagTimeline.prototype.redraw = function () {
    if (!this.lag) return;
    ns.drawLagChart(this.elements.chart, this.lag, { log: this.elements.log.checked, threshold: this.threshold });
    ns.drawEventsChart(this.elements.events, this.lag);
  };

  ns.LagTimeline.prototype.load = async function (params) {
    const summary = this.elements.summary;
    summary.textContent = "Loading…";
    try {
      this.lag = await ns.getJSON(ns.apiURL(this.url, Object.assign({ by: "minute", percentiles: ns.LAG_PERCENTILES }, params)));
      this.redraw();
      // Only numbers and fixed words go into this HTML (formatNumber/formatSeconds).
      summary.innerHTML = ns.lagSummary(this.lag);
      summary.classList.remove("error");
    } catch (err) {
      this.lag = null;
      this.elements.chart.replaceChildren();
      this.elements.events.replaceChildren();
      summary.textContent = "Lag timeline unavailable: " + err.message;
      summary.classList.add("error");
    }
  };
})(window.EventDebug);
