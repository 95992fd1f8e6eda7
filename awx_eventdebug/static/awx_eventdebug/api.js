/* Shared helpers of the dashboard's scripts: API requests, number formatting, DOM building. */
"use strict";
window.EventDebug = window.EventDebug || {};

(function (ns) {
  // API paths are written relative to the page (body data-*-url), so the page works wherever
  // the app is mounted (example project's urls.py or EventDebugMiddleware's prefix in AWX).
  ns.apiURL = function (relative, params) {
    const url = new URL(relative, window.location.href);
    Object.entries(params || {}).forEach(function ([name, value]) {
      if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
    });
    return url.toString();
  };

  // A 400's body names each refused field with its reasons (AWX's shape): "job: no job with id 5".
  function refusedFields(body) {
    return Object.keys(body).map((name) => name + ": " + [].concat(body[name]).join(" ")).join("; ");
  }

  // The JSON body of a GET; an Error with .status and the server's explanation otherwise.
  ns.getJSON = async function (url) {
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (err) {
      throw new Error("the server did not answer (" + err.message + ")");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      // A 404 without a JSON body is Django's own: the endpoint is not in this version.
      const detail = body ? body.detail || refusedFields(body) : response.status === 404 ? "no such endpoint" : "";
      const error = new Error("HTTP " + response.status + (detail ? ": " + detail : ""));
      error.status = response.status;
      throw error;
    }
    return body;
  };

  // Seconds with sub-second precision, fewer decimals as values grow.
  ns.formatSeconds = function (value) {
    if (typeof value !== "number" || !isFinite(value)) return "–";
    const size = Math.abs(value);
    const digits = size < 10 ? 3 : size < 100 ? 2 : 1;
    return value.toFixed(digits) + " s";
  };

  ns.formatNumber = function (value, digits) {
    if (typeof value !== "number" || !isFinite(value)) return "–";
    return value.toLocaleString("en-US", { maximumFractionDigits: digits || 0 });
  };

  ns.formatTime = function (value) {
    const time = typeof value === "number" ? value * 1000 : Date.parse(value);
    if (!isFinite(time)) return "–";
    // "2026-11-28 10:04:05" in the browser's time zone: unambiguous whatever the locale.
    return new Date(time).toLocaleString("sv-SE");
  };

  // el("td", {class: "num"}, "12") -> <td class="num">12</td>; text only, never HTML.
  ns.el = function (tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(function ([name, value]) {
      node.setAttribute(name, value);
    });
    [].concat(children === undefined ? [] : children).forEach(function (child) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  };

  // As api/markup.py code_spans: what a sentence quotes between backticks as <code>, the rest
  // text; nodes and strings for el()'s children, so nothing in it is ever HTML.
  const CODE_SPAN = /(`+)([^`]+)\1/g;
  ns.codeSpans = function (text) {
    const source = String(text);
    const parts = [];
    let at = 0;
    for (const span of source.matchAll(CODE_SPAN)) {
      parts.push(source.slice(at, span.index), ns.el("code", {}, span[2]));
      at = span.index + span[0].length;
    }
    parts.push(source.slice(at));
    return parts;
  };

  ns.setStatus = function (element, text, state) {
    element.textContent = text;
    element.className = "status" + (state ? " " + state : "");
  };
})(window.EventDebug);
