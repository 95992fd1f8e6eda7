/* The overflow summary and fullest-queues tables, from GET overflow/summary/ and GET channels/.

Each table is a column list plus a function that picks rows out of the endpoint's JSON: adapting
to the endpoints' final field names means editing the lists below, nothing else. A column's
`fields` are tried in order, so an alias costs one more name. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  ns.OVERFLOW_COLUMNS = [
    { fields: ["group"], label: "Group", format: "key" },
    { fields: ["drops"], label: "Drops", format: "count" },
    { fields: ["queues_over"], label: "Queues over capacity", format: "count" },
    { fields: ["max_group_size"], label: "Max members", format: "count" },
    { fields: ["drops_per_minute"], label: "Drops / min", format: "rate" },
    { fields: ["first_seen"], label: "First seen", format: "time" },
    { fields: ["last_seen"], label: "Last seen", format: "time" },
  ];

  // Groups that dropped the most first.
  ns.overflowRows = function (summary) {
    return (summary.groups || []).slice().sort(function (a, b) {
      return (b.drops || 0) - (a.drops || 0);
    });
  };

  ns.QUEUE_COLUMNS = [
    { fields: ["queue", "key", "name"], label: "Queue", format: "key" },
    { fields: ["depth"], label: "Depth", format: "count" },
    { fields: ["capacity"], label: "Capacity", format: "count" },
    { fields: ["fill"], label: "Fill", format: "percent" },
    { fields: ["oldest_age", "oldest_message_age"], label: "Oldest message", format: "seconds" },
  ];
  ns.WORST_QUEUES = 10;

  ns.worstQueues = function (channels) {
    return (channels.queues || [])
      .slice()
      .sort(function (a, b) {
        return (b.fill || 0) - (a.fill || 0);
      })
      .slice(0, ns.WORST_QUEUES);
  };

  // "queues: 12 · groups: 4 · …" from whatever numbers the channels summary carries.
  ns.channelsSummary = function (channels) {
    return Object.entries(channels.summary || {})
      .filter(function ([, value]) {
        return typeof value === "number" || typeof value === "string";
      })
      .map(function ([name, value]) {
        return name.replace(/_/g, " ") + ": " + (typeof value === "number" ? ns.formatNumber(value, 3) : value);
      })
      .join(" · ");
  };

  const FORMATS = {
    key: function (v) {
      return v === undefined || v === null ? "–" : String(v);
    },
    count: function (v) {
      return ns.formatNumber(v);
    },
    rate: function (v) {
      return ns.formatNumber(v, 2);
    },
    // fill is a fraction of capacity (0..1), shown as a percentage.
    percent: function (v) {
      return typeof v === "number" ? (v * 100).toFixed(1) + " %" : "–";
    },
    seconds: function (v) {
      return ns.formatSeconds(v);
    },
    time: function (v) {
      return v === undefined || v === null ? "–" : ns.formatTime(v);
    },
  };

  function cell(row, column) {
    const field = column.fields.find(function (name) {
      return name in row;
    });
    return field === undefined ? undefined : row[field];
  }

  ns.renderTable = function (container, columns, rows) {
    const numeric = function (column) {
      return column.format !== "key" && column.format !== "time";
    };
    const head = ns.el(
      "tr",
      {},
      columns.map(function (column) {
        return ns.el("th", numeric(column) ? { class: "num" } : {}, column.label);
      }),
    );
    const body = rows.map(function (row) {
      return ns.el(
        "tr",
        {},
        columns.map(function (column) {
          const value = FORMATS[column.format](cell(row, column));
          return ns.el("td", { class: numeric(column) ? "num" : column.format }, value);
        }),
      );
    });
    const table = ns.el("table", {}, [ns.el("thead", {}, head), ns.el("tbody", {}, body)]);
    container.replaceChildren(table);
    return table;
  };

  async function loadTable(url, status, container, describe) {
    try {
      const data = await ns.getJSON(ns.apiURL(url));
      describe(data);
    } catch (err) {
      container.replaceChildren();
      ns.setStatus(status, "Unavailable: " + err.message, "error");
    }
  }

  ns.loadOverflowTable = function (url, status, container) {
    return loadTable(url, status, container, function (summary) {
      const rows = ns.overflowRows(summary);
      ns.setStatus(status, rows.length ? rows.length + " groups dropped messages." : "No group dropped a message.", rows.length ? "error" : "");
      if (rows.length) ns.renderTable(container, ns.OVERFLOW_COLUMNS, rows);
      else container.replaceChildren();
    });
  };

  ns.loadQueuesTable = function (url, status, container) {
    return loadTable(url, status, container, function (channels) {
      const rows = ns.worstQueues(channels);
      ns.setStatus(status, ns.channelsSummary(channels) || (rows.length ? "" : "No queues."), "");
      if (rows.length) ns.renderTable(container, ns.QUEUE_COLUMNS, rows);
      else container.replaceChildren();
    });
  };
})(window.EventDebug);
