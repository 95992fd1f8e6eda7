/* The live websocket lag gauge: what AWX's debug.js snippet did, in plain JavaScript.

Connects to AWX's /websocket/ on the page's own origin, subscribes the way AWX's UI does, and
shows the lag (now - created, with sub-second precision) of the last 1024 events received, the
events per second and the gaps in the event counter, which the server classifies (GET listen/gaps/):
AWX does not send every event, so only "lost" gaps are losses. Reconnects with exponential
backoff. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  const WINDOW = 1024; // events the statistics cover, as debug.js
  const RATE_SECONDS = 5; // events per second = events received over the last 5 s / 5
  const BACKOFF_MS = [1000, 30000]; // first retry, longest wait
  const CHECK_MS = 5000; // between classifications of the gaps
  const CHECK_RANGES = 200; // the latest gaps sent for classification: the query string stays short
  // The bounds of listen's counter-gap rule (live/stats.py), which CounterGaps below follows.
  const REORDER_HORIZON = 10000; // how far back (in counter numbers) a late counter can fill a gap
  const MAX_RETIRED = 10000; // final gaps kept, the first ones, for the check of their causes
  const MAX_EARLY_RUNS = 100; // runs below the first counter kept to tell late from duplicate

  // Index of the last [first, last] run whose first is at most `counter`; -1 when none is.
  function runAtOrBelow(runs, counter) {
    let low = 0;
    let high = runs.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (runs[middle][0] <= counter) low = middle + 1;
      else high = middle;
    }
    return low - 1;
  }

  // The counter-gap rule of `eventdebug listen` (CounterGaps in awx_eventdebug/listen/stats.py),
  // figure for figure: the test vectors in tests/listen/counter_vectors.json hold both to it. The
  // first counter is the baseline; one above the highest opens a gap; one in an open gap fills it
  // (late); one below the baseline is late the first time (the receiver's workers send out of
  // order) and opens no gap, since numbers before it may have been sent before the gauge joined;
  // any other is a duplicate. Gaps more than `horizon` numbers behind the highest are final
  // (retired): memory stays bounded however long the job runs.
  class CounterGaps {
    constructor(horizon) {
      this.horizon = horizon === undefined ? REORDER_HORIZON : horizon;
      this.first = null;
      this.highest = null;
      this.missing = 0; // numbers skipped and not arrived (yet)
      this.gaps = 0; // runs of consecutive missing numbers
      this.late = 0; // arrived after a higher counter: filling a gap, or below the baseline
      this.duplicates = 0; // seen before, or too far behind (or past MAX_EARLY_RUNS) to tell
      this.open = []; // [first, last] missing, sorted, within the horizon
      this.early = []; // [first, last] received below the baseline, sorted
      this.retired = []; // final gaps, [first, last], sorted: the first MAX_RETIRED of them
    }

    add(counter) {
      if (this.highest === null) {
        this.first = this.highest = counter;
        return;
      }
      if (counter > this.highest) {
        if (counter > this.highest + 1) {
          this.open.push([this.highest + 1, counter - 1]);
          this.missing += counter - this.highest - 1;
          this.gaps += 1;
        }
        this.highest = counter;
        this.forgetOldGaps();
        return;
      }
      if (counter < this.first) {
        this.addEarly(counter);
        return;
      }
      const index = runAtOrBelow(this.open, counter);
      if (index < 0 || counter > this.open[index][1]) {
        this.duplicates += 1;
        return;
      }
      const gap = this.open[index];
      this.missing -= 1;
      this.late += 1;
      if (gap[0] === gap[1]) {
        this.open.splice(index, 1);
        this.gaps -= 1;
      } else if (counter === gap[0]) {
        gap[0] += 1;
      } else if (counter === gap[1]) {
        gap[1] -= 1;
      } else {
        this.open.splice(index + 1, 0, [counter + 1, gap[1]]);
        gap[1] = counter - 1;
        this.gaps += 1;
      }
    }

    addEarly(counter) {
      const early = this.early;
      const index = runAtOrBelow(early, counter);
      if ((index >= 0 && counter <= early[index][1]) || counter < this.highest - this.horizon) {
        this.duplicates += 1;
        return;
      }
      const afterLeft = index >= 0 && early[index][1] === counter - 1;
      const beforeRight = index + 1 < early.length && early[index + 1][0] === counter + 1;
      if (afterLeft && beforeRight) {
        early[index][1] = early.splice(index + 1, 1)[0][1];
      } else if (afterLeft) {
        early[index][1] = counter;
      } else if (beforeRight) {
        early[index + 1][0] = counter;
      } else if (early.length < MAX_EARLY_RUNS) {
        early.splice(index + 1, 0, [counter, counter]);
      } else {
        this.duplicates += 1; // too many runs kept to tell
        return;
      }
      this.late += 1;
    }

    forgetOldGaps() {
      const limit = this.highest - this.horizon;
      let drop = 0;
      while (drop < this.open.length && this.open[drop][1] < limit) drop += 1;
      if (drop) {
        const room = Math.max(MAX_RETIRED - this.retired.length, 0);
        this.retired.push(...this.open.slice(0, Math.min(drop, room)));
        this.open.splice(0, drop);
      }
    }
  }
  CounterGaps.bounds = { REORDER_HORIZON, MAX_RETIRED, MAX_EARLY_RUNS };
  ns.CounterGaps = CounterGaps;

  // Statistics over a sliding window of lags, and the counters seen so far.
  class LagWindow {
    constructor(size) {
      this.size = size;
      this.lags = [];
      this.arrivals = [];
      this.received = 0;
      this.counters = new CounterGaps();
    }

    add(lagSeconds, arrivedAt, counter) {
      this.received += 1;
      this.lags.push(lagSeconds);
      this.arrivals.push(arrivedAt);
      if (this.lags.length > this.size) {
        this.lags.shift();
        this.arrivals.shift();
      }
      if (Number.isInteger(counter)) this.counters.add(counter);
    }

    // The latest gaps, final or open, as "5-9,12", at most `limit` ranges.
    missingRanges(limit) {
      const counters = this.counters;
      return counters.retired.slice(-limit).concat(counters.open).slice(-limit).map(function (range) {
        return range[0] === range[1] ? String(range[0]) : range[0] + "-" + range[1];
      }).join(",");
    }

    stats(now) {
      const count = this.lags.length;
      if (!count) return { count: 0, rate: 0, gaps: this.counters.missing, received: this.received };
      let sum = 0;
      let max = -Infinity;
      this.lags.forEach(function (lag) {
        sum += lag;
        if (lag > max) max = lag;
      });
      const mean = sum / count;
      let squares = 0;
      this.lags.forEach(function (lag) {
        squares += (lag - mean) * (lag - mean);
      });
      const since = now - RATE_SECONDS * 1000;
      const recent = this.arrivals.filter(function (time) {
        return time > since;
      }).length;
      return {
        count: count,
        mean: mean,
        stdev: Math.sqrt(squares / count),
        max: max,
        rate: recent / RATE_SECONDS,
        gaps: this.counters.missing,
        received: this.received,
      };
    }
  }
  ns.LagWindow = LagWindow;

  ns.readCookie = function (name) {
    const prefix = name + "=";
    const found = document.cookie.split(";").map(function (part) {
      return part.trim();
    }).find(function (part) {
      return part.startsWith(prefix);
    });
    return found === undefined ? null : decodeURIComponent(found.slice(prefix.length));
  };

  ns.websocketURL = function (path) {
    return (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + path;
  };

  // The rolling plot: one point per second with events (their mean and max lag), the last minutes.
  ns.PLOT_SECONDS = 300;

  ns.drawRollingLag = function (container, points, now) {
    const width = ns.chartWidth(container);
    const height = 140;
    const start = now - ns.PLOT_SECONDS * 1000;
    const root = ns.svg("svg", {
      width: width,
      height: height,
      viewBox: "0 0 " + width + " " + height,
      role: "img",
      "aria-label": "Live lag per second, the last " + ns.PLOT_SECONDS / 60 + " minutes",
      "data-points": String(points.length),
    });
    if (!points.length) {
      ns.emptyChart(root, width, height, "No events in the last " + ns.PLOT_SECONDS / 60 + " minutes");
      container.replaceChildren(root);
      return root;
    }
    const top = Math.max.apply(
      null,
      points.map(function (p) {
        return p.max;
      }),
    );
    const scale = ns.linearScale(top, 3, height - ns.MARGIN.top - ns.MARGIN.bottom);
    const y = scale.y;
    ns.valueAxis(root, scale, width, ns.shortSeconds);
    const x = ns.timeAxis(root, start, now, width, height);
    const line = function (field) {
      return points
        .map(function (p) {
          return x(p.t).toFixed(1) + "," + y(p[field]).toFixed(1);
        })
        .join(" ");
    };
    root.append(ns.svg("polyline", { class: "series p99", points: line("max") }));
    root.append(ns.svg("polyline", { class: "series p50", points: line("mean") }));
    // Dots too: a lone second (or the newest one, at the right edge) is no line.
    points.forEach(function (p) {
      const dot = ns.svg("circle", { class: "p50", cx: x(p.t).toFixed(1), cy: y(p.mean).toFixed(1), r: 2.4 });
      dot.append(ns.svg("title", {}, ns.clock(p.t) + "  mean " + ns.formatSeconds(p.mean) + ", max " + ns.formatSeconds(p.max) + "  (" + p.n + " events)"));
      root.append(dot);
    });
    ns.legend(root, [
      ["p50", "mean"],
      ["p99", "max"],
    ]);
    container.replaceChildren(root);
    return root;
  };

  class LiveGauge {
    // elements: {status, jobStatus, mean, stdev, max, rate, count, gaps, stop, plot}
    constructor(elements, options) {
      this.elements = elements;
      this.url = ns.websocketURL(options.path);
      this.cookieName = options.cookieName;
      this.socket = null;
      this.subscription = null;
      this.retries = 0;
      this.retryTimer = null;
      this.ticker = null;
      this.window = new LagWindow(WINDOW);
      this.gapsURL = options.gapsURL || "listen/gaps/";
      this.causes = null; // the last classification of the gaps, or {error}
      this.checkedAt = 0;
      this.checking = false;
      this.second = []; // lags arrived since the last plot point
      this.points = [];
    }

    watch(group, id) {
      this.subscription = { group: group, id: id };
      this.window = new LagWindow(WINDOW);
      this.causes = null;
      this.second = [];
      this.points = [];
      this.elements.jobStatus.textContent = "";
      this.elements.stop.disabled = false;
      this.render();
      if (!this.ticker) this.ticker = window.setInterval(this.tick.bind(this), 1000);
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.subscribe();
      } else if (!this.socket) {
        // Waiting to retry: connect now instead, and start the backoff over.
        window.clearTimeout(this.retryTimer);
        this.retries = 0;
        this.connect();
      }
    }

    stop() {
      this.subscription = null;
      window.clearTimeout(this.retryTimer);
      window.clearInterval(this.ticker);
      this.ticker = null;
      this.retryTimer = null;
      if (this.socket) {
        const socket = this.socket;
        this.socket = null;
        socket.close();
      }
      this.elements.stop.disabled = true;
      ns.setStatus(this.elements.status, "Stopped.", "");
    }

    connect() {
      this.retryTimer = null;
      ns.setStatus(this.elements.status, "Connecting to " + this.url + "…", "");
      const socket = new WebSocket(this.url);
      let opened = false;
      this.socket = socket;
      socket.addEventListener("open", () => {
        opened = true;
        this.retries = 0;
        ns.setStatus(this.elements.status, "Connected to " + this.url + "; subscribing…", "");
        this.subscribe();
      });
      socket.addEventListener("message", (event) => this.receive(event.data));
      socket.addEventListener("close", (event) => {
        if (this.socket !== socket) return; // stopped on purpose
        this.socket = null;
        const why = opened
          ? "The websocket closed (code " + event.code + (event.reason ? ", " + event.reason : "") + ")."
          : "The websocket at " + this.url + " was refused or unreachable (code " + event.code + ").";
        this.retry(this.refusal ? this.refusal + " " + why : why);
      });
    }

    retry(why) {
      const delay = Math.min(BACKOFF_MS[0] * Math.pow(2, this.retries), BACKOFF_MS[1]);
      this.retries += 1;
      ns.setStatus(this.elements.status, why + " Retrying in " + Math.round(delay / 1000) + " s.", "error");
      this.retryTimer = window.setTimeout(() => this.connect(), delay);
    }

    // The message AWX's UI sends (checked by EventConsumer in awx/main/consumers.py); the token is
    // the csrftoken cookie.
    subscribe() {
      if (!this.subscription) return;
      const token = ns.readCookie(this.cookieName);
      const groups = { jobs: ["status_changed", "summary"] };
      groups[this.subscription.group] = [this.subscription.id];
      this.socket.send(JSON.stringify({ groups: groups, xrftoken: token }));
      if (!token) {
        ns.setStatus(this.elements.status, "No " + this.cookieName + " cookie to send as xrftoken; AWX will refuse the subscription. Reload the page.", "error");
      }
    }

    receive(text) {
      let data;
      try {
        data = JSON.parse(text);
      } catch (err) {
        return;
      }
      if (data.close) {
        this.refusal = "The server refused the websocket: not logged in.";
        ns.setStatus(this.elements.status, this.refusal, "error");
        return;
      }
      this.refusal = null;
      if (data.error) {
        ns.setStatus(this.elements.status, "Subscription refused: " + data.error, "error");
        return;
      }
      if (data.groups_current && this.subscription) {
        const name = this.subscription.group + "-" + this.subscription.id;
        ns.setStatus(this.elements.status, "Subscribed to " + name + "; waiting for events.", "live");
        return;
      }
      if (data.group_name === "jobs" && this.subscription && String(data.unified_job_id) === String(this.subscription.id)) {
        this.elements.jobStatus.textContent = "Job status: " + data.status + ".";
        return;
      }
      if (this.subscription && data.group_name === this.subscription.group && typeof data.created === "string") {
        const now = Date.now();
        const created = Date.parse(data.created);
        if (isFinite(created)) {
          this.window.add((now - created) / 1000, now, data.counter);
          this.second.push((now - created) / 1000);
        }
        if (this.window.received === 1) {
          ns.setStatus(this.elements.status, "Receiving events of " + this.subscription.group + "-" + this.subscription.id + ".", "live");
        }
        this.renderSoon();
      }
    }

    // At most one redraw per animation frame, however fast events arrive.
    renderSoon() {
      if (this.pending) return;
      this.pending = true;
      window.requestAnimationFrame(() => {
        this.pending = false;
        this.render();
      });
    }

    // Ask the server which gaps AWX never sent, and which are losses.
    checkGaps(now) {
      if (!this.subscription || !this.window.counters.missing || this.checking || now - this.checkedAt < CHECK_MS) return;
      this.checking = true;
      this.checkedAt = now;
      const subscription = this.subscription;
      const params = {
        kind: subscription.group.replace(/_events$/, ""),
        job: subscription.id,
        missing: this.window.missingRanges(CHECK_RANGES),
      };
      ns.getJSON(ns.apiURL(this.gapsURL, params)).then((body) => {
        if (this.subscription === subscription) this.causes = body;
      }, (err) => {
        if (this.subscription === subscription) this.causes = { error: err.message };
      }).finally(() => {
        this.checking = false;
      });
    }

    gapsText(gaps) {
      const causes = this.causes;
      if (!causes || causes.error || !gaps) return { text: ns.formatNumber(gaps), title: causes && causes.error ? "Not classified: " + causes.error : "" };
      const labels = {
        no_output: "not sent by AWX (no output)",
        live_updates_off: "not sent by AWX (live updates off)",
        rate_limited: "likely rate-limited by AWX",
        not_stored: "not stored yet",
      };
      const why = Object.keys(labels).filter((name) => causes.cause_counters[name]).map((name) => causes.cause_counters[name] + " " + labels[name]);
      return {
        text: ns.formatNumber(causes.lost_counters) + " lost of " + ns.formatNumber(gaps),
        title: "Of the " + causes.missing_counters + " checked: " + causes.lost_counters + " lost" + (why.length ? ", " + why.join(", ") : "") + ".",
      };
    }

    // Each second: a plot point of the lags that arrived in it, the plot cut to its last minutes.
    tick() {
      const now = Date.now();
      if (this.second.length) {
        const lags = this.second;
        const mean = lags.reduce((sum, lag) => sum + lag, 0) / lags.length;
        this.points.push({ t: now, mean: mean, max: Math.max.apply(null, lags), n: lags.length });
        this.second = [];
      }
      this.points = this.points.filter((point) => point.t >= now - ns.PLOT_SECONDS * 1000);
      ns.drawRollingLag(this.elements.plot, this.points, now);
      this.render();
    }

    render() {
      const stats = this.window.stats(Date.now());
      this.checkGaps(Date.now());
      this.elements.mean.textContent = ns.formatSeconds(stats.mean);
      this.elements.stdev.textContent = ns.formatSeconds(stats.stdev);
      this.elements.max.textContent = ns.formatSeconds(stats.max);
      this.elements.rate.textContent = ns.formatNumber(stats.rate, 1);
      this.elements.count.textContent = ns.formatNumber(stats.received);
      const gaps = this.gapsText(stats.gaps);
      this.elements.gaps.textContent = gaps.text;
      this.elements.gaps.title = gaps.title;
    }
  }
  ns.LiveGauge = LiveGauge;
})(window.EventDebug);
