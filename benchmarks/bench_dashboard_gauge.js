/* Fed to Chromium by bench_dashboard.py: arguments[0] = number of messages. */
const ns = window.EventDebug, count = arguments[0];
const ids = ["status", "job", "mean", "stdev", "max", "rate", "count", "gaps", "stop"];
const e = Object.fromEntries(ids.map((id) => [id, document.getElementById(id)]));
const elements = {status: e.status, jobStatus: e.job, mean: e.mean, stdev: e.stdev,
  max: e.max, rate: e.rate, count: e.count, gaps: e.gaps, stop: e.stop};
const gauge = new ns.LiveGauge(elements, {path: "/websocket/", cookieName: "csrftoken"});
gauge.subscription = {group: "job_events", id: 1};
const created = new Date(Date.now() - 1500).toISOString();
const messages = [];
for (let i = 1; i <= count; i++) messages.push(JSON.stringify({group_name: "job_events", job: 1,
  counter: i % 50 ? i : i + 1, event: "runner_on_ok", created: created, stdout: "ok: [host-" + i + "]"}));
// The baseline repeated for at least 50 ms: performance.now() ticks in steps of up to 100 us
// without cross-origin isolation, so a few hundred parses alone could measure 0.
let t = performance.now(), parses = 0, parse = 0;
do {
  for (const m of messages) JSON.parse(m);
  parses += count;
  parse = performance.now() - t;
} while (parse < 50);
t = performance.now();
for (const m of messages) gauge.receive(m);
const receive = performance.now() - t;
t = performance.now();
for (let i = 0; i < 1000; i++) gauge.render();
const render = performance.now() - t;
return {
  received: gauge.window.received,
  parse_us: (parse * 1000) / parses,
  receive_us: (receive * 1000) / count,
  render_us: render,
};
