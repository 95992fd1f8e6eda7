/* Refreshes the overflow summary, fullest-queues and worst-jobs tables, which the server already
rendered from the same data, from GET overflow/summary/, GET channels/ and GET report/.

The column lists (field, label, format) come from the page (dashboard/tables.py, json_script), so
the server's table and this one cannot disagree on fields. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  // As on the server: the groups with the most drops, and the worst queues.
  ns.OVERFLOW_GROUPS = 20;
  ns.WORST_QUEUES = 10;
  ns.TABLES_REFRESH_MS = 30000;
  // Queues are sampled more often: each sample adds a point to the queue's depth sparkline.
  ns.QUEUES_REFRESH_MS = 10000;
  ns.TREND_SAMPLES = 30;
  const TEXT_FORMATS = ["mark", "key", "text", "link", "list", "time"];
  const FULL = 100;

  // As dashboard/tables.py queue_mark: full, or fuller than CHECK_MAX_FILL; "" otherwise.
  ns.queueMark = function (fill, maxFill) {
    if (typeof fill !== "number") return "";
    if (fill >= FULL) return "full";
    return fill > maxFill ? "over " + maxFill + " %" : "";
  };

  // Depths of each queue over the page's samples, oldest first, for the sparklines.
  ns.depthHistory = new Map();
  ns.recordDepths = function (queues) {
    const seen = new Set();
    queues.forEach(function (queue) {
      const depths = ns.depthHistory.get(queue.key) || [];
      depths.push(queue.depth_messages || 0);
      ns.depthHistory.set(queue.key, depths.slice(-ns.TREND_SAMPLES));
      seen.add(queue.key);
    });
    // A queue that left the worst list starts a new line if it comes back.
    Array.from(ns.depthHistory.keys()).forEach(function (key) {
      if (!seen.has(key)) ns.depthHistory.delete(key);
    });
  };

  ns.columnsFrom = function (id) {
    return JSON.parse(document.getElementById(id).textContent);
  };

  // As dashboard/tables.py overflow_status.
  ns.overflowStatus = function (summary, windowLength) {
    if (!summary.groups.length) return "No group dropped a message in the last " + windowLength + ".";
    return (
      ns.formatNumber(summary.groups_total) + " groups dropped " + ns.formatNumber(summary.totals.drops) +
      " messages in the last " + windowLength + "; the " + ns.formatNumber(summary.shown_groups) + " with the most drops:"
    );
  };

  // Worst first, as channels/queues.py queue_severity: fullest, then oldest message, then deepest.
  function severity(a, b) {
    return (b.fill_percent || 0) - (a.fill_percent || 0) || (b.oldest_age_seconds || 0) - (a.oldest_age_seconds || 0) || (b.depth_messages || 0) - (a.depth_messages || 0);
  }

  // The distinct queues of the channels document (a process queue appears under every group its
  // channels joined), each with the names of those groups (as channels/queues.py distinct_queues).
  // A pub/sub layer's groups have subscribers, no queues.
  ns.worstQueues = function (channels) {
    const queues = new Map();
    (channels.groups || []).forEach(function (group) {
      (group.queues || []).forEach(function (queue) {
        if (!queues.has(queue.key)) queues.set(queue.key, Object.assign({}, queue, { groups: [] }));
        queues.get(queue.key).groups.push(group.name);
      });
    });
    return Array.from(queues.values()).sort(severity).slice(0, ns.WORST_QUEUES);
  };

  ns.queuesStatus = function (channels) {
    if (channels.note) return channels.note;
    const s = channels.summary;
    const parts = [
      ns.formatNumber(s.groups) + " groups",
      ns.formatNumber(s.members) + " members",
      ns.formatNumber(s.queues) + " queues",
      ns.formatNumber(s.nearly_full_queues) + " over " + s.nearly_full_percent + " %",
      ns.formatNumber(s.full_queues) + " full",
    ];
    if (s.stale_members) parts.push(ns.formatNumber(s.stale_members) + " stale members");
    const unreachable = (channels.shards || []).filter(function (shard) {
      return !shard.ok;
    });
    if (unreachable.length) {
      parts.push(
        "unreachable: " +
          unreachable
            .map(function (shard) {
              return shard.host;
            })
            .join(", "),
      );
    }
    if (channels.age_seconds != null) parts.push("read " + Math.round(channels.age_seconds) + " s ago");
    return parts.join(" · ");
  };

  const FORMATS = {
    mark: String,
    key: String,
    text: String,
    link: String, // the text of a link to the row's url
    list: function (v) {
      return v.join(", ");
    },
    count: function (v) {
      return ns.formatNumber(v);
    },
    rate: function (v) {
      return ns.formatNumber(v, 2);
    },
    // fill is already a percentage of capacity (0..100).
    percent: function (v) {
      return v.toFixed(1) + " %";
    },
    seconds: function (v) {
      return ns.formatSeconds(v);
    },
    time: function (v) {
      return ns.formatTime(v);
    },
  };

  // trend: an extra column after the key {label, cell(row) -> Node}, drawn by the script only.
  ns.renderTable = function (container, columns, rows, trend) {
    if (!rows.length) {
      container.replaceChildren();
      return null;
    }
    const numeric = function (column) {
      return !TEXT_FORMATS.includes(column.format);
    };
    const at =
      columns.findIndex(function (column) {
        return column.format === "key";
      }) + 1;
    const headers = columns.map(function (column) {
      return ns.el("th", numeric(column) ? { class: "num" } : {}, column.label.replace(" (UTC)", ""));
    });
    if (trend) headers.splice(at, 0, ns.el("th", {}, trend.label));
    // Each cell carries its column's label, which a narrow page shows beside it (dashboard.css).
    const head = ns.el("tr", {}, headers);
    const body = rows.map(function (row) {
      const cells = columns.map(function (column) {
        const value = row[column.field];
        const missing = value === undefined || value === null;
        const text = missing ? (column.format === "mark" ? "" : "–") : FORMATS[column.format](value);
        const content = column.format === "link" && row.url ? ns.el("a", { href: row.url }, text) : text;
        return ns.el("td", { class: numeric(column) ? "num" : column.format, "data-label": column.label }, content);
      });
      if (trend) cells.splice(at, 0, ns.el("td", { class: "trend", "data-label": trend.label }, trend.cell(row)));
      return ns.el("tr", row.mark ? { class: "marked" } : {}, cells);
    });
    const table = ns.el("table", {}, [ns.el("thead", {}, head), ns.el("tbody", {}, body)]);
    container.replaceChildren(table);
    return table;
  };

  // On failure the server-rendered rows are replaced by the reason: they may be stale.
  async function refreshTable(url, params, status, container, show) {
    try {
      show(await ns.getJSON(ns.apiURL(url, params)));
    } catch (err) {
      container.replaceChildren();
      ns.setStatus(status, "Unavailable: " + err.message, "error");
    }
  }

  // The groups that dropped messages in the page's window (as the server's table).
  ns.refreshOverflowTable = function (url, status, container, windowLength) {
    const columns = ns.columnsFrom("overflow-columns");
    return refreshTable(url, { limit: ns.OVERFLOW_GROUPS, since: windowLength }, status, container, function (summary) {
      ns.setStatus(status, ns.overflowStatus(summary, windowLength), "");
      ns.renderTable(container, columns, summary.groups);
    });
  };

  // As dashboard/tables.py worst_jobs_table: the report's worst jobs of the page's window, each
  // linking to its output in AWX (the page's URL templates, tables.py job_url_templates).
  ns.refreshWorstJobsTable = function (url, status, container, windowLength) {
    const columns = ns.columnsFrom("worst-jobs-columns");
    const links = JSON.parse(document.getElementById("worst-jobs-links").textContent);
    return refreshTable(url, { since: windowLength }, status, container, function (report) {
      if (report.lag === null) {
        container.replaceChildren();
        ns.setStatus(status, "Worst jobs unavailable: " + (report.errors.lag || "not read"), "error");
        return;
      }
      const jobs = report.lag.worst_jobs.map(function (job) {
        // tables.py JOB_PLACEHOLDER; events without a job have no output page to link.
        const url = job.job === null ? "" : links[job.kind].replace("{job}", job.job);
        return Object.assign({ p99_seconds: job.percentiles_seconds.p99, url: url }, job);
      });
      if (report.lag.worst_jobs_error) {
        ns.setStatus(status, "Worst jobs unavailable: " + report.lag.worst_jobs_error, "error");
        ns.renderTable(container, columns, jobs);
        return;
      }
      const text = jobs.length
        ? "The " + jobs.length + " jobs with the highest p99 lag in the last " + windowLength + ", worst first:"
        : "No job stored events in the last " + windowLength + ".";
      ns.setStatus(status, text, "");
      ns.renderTable(container, columns, jobs);
    });
  };

  ns.refreshQueuesTable = function (url, status, container) {
    const columns = ns.columnsFrom("queues-columns");
    const maxFill = Number(document.body.dataset.maxFill);
    return refreshTable(url, {}, status, container, function (channels) {
      ns.setStatus(status, ns.queuesStatus(channels), "");
      const queues = ns.worstQueues(channels).map(function (queue) {
        return Object.assign({ mark: ns.queueMark(queue.fill_percent, maxFill) }, queue);
      });
      ns.recordDepths(queues);
      ns.renderTable(container, columns, queues, {
        label: "Depth trend",
        cell: function (queue) {
          return ns.sparkline(ns.depthHistory.get(queue.key));
        },
      });
    });
  };
})(window.EventDebug);
