/* Shared drawing of the dashboard's charts: inline SVG sized to its container in CSS pixels (so
labels stay readable on a narrow screen), a time axis, bars per minute, and sparklines. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  const SVG = "http://www.w3.org/2000/svg";
  const TICK_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720];
  ns.MINUTE = 60000;
  ns.MARGIN = { top: 26, right: 14, bottom: 28, left: 58 };

  ns.svg = function (tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attributes || {}).forEach(function ([name, value]) {
      node.setAttribute(name, value);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // The drawing width: the container's, within bounds; redraws follow window resizes.
  ns.chartWidth = function (container) {
    return Math.max(300, Math.min(1400, Math.round(container.clientWidth || 1120)));
  };

  ns.niceStep = function (span, ticks) {
    const raw = span / ticks;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const factor = [1, 2, 2.5, 5, 10].find(function (f) {
      return f * power >= raw;
    });
    return factor * power;
  };

  ns.clock = function (time) {
    const date = new Date(time);
    return String(date.getHours()).padStart(2, "0") + ":" + String(date.getMinutes()).padStart(2, "0");
  };

  // x from time over [start, end] within the margins; ticks at round minutes, fewer when narrow.
  ns.timeAxis = function (root, start, end, width, height) {
    const plot = width - ns.MARGIN.left - ns.MARGIN.right;
    const x = function (time) {
      return ns.MARGIN.left + ((time - start) / (end - start)) * plot;
    };
    const maxTicks = Math.max(3, Math.floor(plot / 70));
    const tickMinutes =
      TICK_MINUTES.find(function (m) {
        return (end - start) / (m * ns.MINUTE) <= maxTicks;
      }) || 1440;
    const first = Math.ceil(start / (tickMinutes * ns.MINUTE)) * tickMinutes * ns.MINUTE;
    const bottom = height - ns.MARGIN.bottom;
    for (let time = first; time <= end; time += tickMinutes * ns.MINUTE) {
      root.append(ns.svg("line", { class: "axis", x1: x(time), x2: x(time), y1: bottom, y2: bottom + 4 }));
      root.append(ns.svg("text", { x: x(time), y: height - 8, "text-anchor": "middle" }, ns.clock(time)));
    }
    root.append(ns.svg("line", { class: "axis", x1: ns.MARGIN.left, x2: width - ns.MARGIN.right, y1: bottom, y2: bottom }));
    return x;
  };

  // Ticks from 0 over ``top`` (about ``count`` of them, round values) and the y of a value.
  ns.linearScale = function (top, count, plotHeight) {
    const step = ns.niceStep(Math.max(top, 0.001), count);
    const yMax = Math.ceil((top * 1.05) / step) * step || step;
    const ticks = [];
    for (let value = 0; value <= yMax + step / 2; value += step) ticks.push(value);
    return {
      ticks: ticks,
      y: function (value) {
        return ns.MARGIN.top + plotHeight - (Math.max(value, 0) / yMax) * plotHeight;
      },
    };
  };

  // A grid line and a label at each tick of ``scale``.
  ns.valueAxis = function (root, scale, width, format) {
    scale.ticks.forEach(function (value) {
      const y = scale.y(value);
      root.append(ns.svg("line", { class: "grid", x1: ns.MARGIN.left, x2: width - ns.MARGIN.right, y1: y, y2: y }));
      root.append(ns.svg("text", { x: ns.MARGIN.left - 6, y: y + 4, "text-anchor": "end" }, format(value)));
    });
  };

  ns.shortSeconds = function (value) {
    return ns.formatSeconds(value).replace(/\.?0+ s$/, " s");
  };

  // entries: [css class of the series, label]
  ns.legend = function (root, entries) {
    const legend = ns.svg("g", { class: "legend" });
    entries.forEach(function ([css, name], index) {
      const left = ns.MARGIN.left + 8 + index * 66;
      legend.append(ns.svg("line", { class: "series " + css, x1: left, x2: left + 18, y1: 12, y2: 12 }));
      legend.append(ns.svg("text", { x: left + 23, y: 16 }, name));
    });
    root.append(legend);
    return legend;
  };

  ns.emptyChart = function (root, width, height, text) {
    root.append(ns.svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, text));
  };

  // One bar per minute: bars [{t: ms, v: number}] over [start, end]; returns the svg.
  ns.drawMinuteBars = function (container, bars, start, end, options) {
    const width = ns.chartWidth(container);
    const height = options.height || 120;
    const root = ns.svg("svg", {
      width: width,
      height: height,
      viewBox: "0 0 " + width + " " + height,
      role: "img",
      "aria-label": options.label,
      "data-bars": String(bars.length),
      "data-total": String(
        bars.reduce(function (sum, bar) {
          return sum + bar.v;
        }, 0),
      ),
    });
    if (!bars.length || !(end > start)) {
      ns.emptyChart(root, width, height, options.empty);
      container.replaceChildren(root);
      return root;
    }
    const top = Math.max.apply(
      null,
      bars.map(function (bar) {
        return bar.v;
      }),
    );
    const scale = ns.linearScale(Math.max(top, 1), 3, height - ns.MARGIN.top - ns.MARGIN.bottom);
    const y = scale.y;
    ns.valueAxis(root, scale, width, function (value) {
      return ns.formatNumber(value, 1);
    });
    const x = ns.timeAxis(root, start, end, width, height);
    const barWidth = Math.max(1, x(start + ns.MINUTE) - x(start) - 1);
    bars.forEach(function (bar) {
      const rect = ns.svg("rect", {
        class: "bar " + (options.kind || ""),
        x: x(bar.t).toFixed(1),
        y: y(bar.v).toFixed(1),
        width: barWidth.toFixed(1),
        height: Math.max(0, y(0) - y(bar.v)).toFixed(1),
      });
      rect.append(ns.svg("title", {}, ns.clock(bar.t) + "  " + ns.formatNumber(bar.v) + " " + options.unit));
      root.append(rect);
    });
    container.replaceChildren(root);
    return root;
  };

  // A small line of the last values (oldest first); the last point is drawn as a dot.
  ns.sparkline = function (values, maxValue) {
    const width = 90;
    const height = 22;
    const root = ns.svg("svg", {
      class: "sparkline",
      width: width,
      height: height,
      viewBox: "0 0 " + width + " " + height,
      role: "img",
      "aria-label": "depth over the last " + values.length + " samples: " + values.join(", "),
      "data-samples": String(values.length),
    });
    const top = Math.max(maxValue || 0, 1, Math.max.apply(null, values));
    const x = function (index) {
      return values.length < 2 ? width - 3 : 2 + (index / (values.length - 1)) * (width - 5);
    };
    const y = function (value) {
      return height - 2 - (value / top) * (height - 4);
    };
    const points = values.map(function (value, index) {
      return x(index).toFixed(1) + "," + y(value).toFixed(1);
    });
    if (values.length > 1) root.append(ns.svg("polyline", { points: points.join(" ") }));
    const last = values.length - 1;
    root.append(ns.svg("circle", { cx: x(last).toFixed(1), cy: y(values[last]).toFixed(1), r: 2 }));
    return root;
  };
})(window.EventDebug);
