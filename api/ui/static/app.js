// mlsim live view: draws the cluster from the public APIs of the server that serves it
// (/_sim/nodes, /_sim/clock, /_sim/events, /_ml/trained_models/_stats, /_plugins/_ml/profile)
// and polls the event log; the snapshot is fetched again whenever the log or the clock moved.
"use strict";

const POLL_MS = 500;
const TIMELINE_SIZE = 60;
const KEPT_EVENTS = 200;
const MAX_SEQ = 2147483647; // asking past the end answers only `next`
const ROUTE_STATES = ["starting", "started", "stopping", "stopped", "failed"];

const live = { next: null, events: [], now: null, dirty: true, names: new Map(), models: new Map() };

// -- small helpers ---------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "data") for (const [k, v] of Object.entries(value)) node.dataset[k] = v;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

const $ = (selector) => document.querySelector(selector);

function bytes(n) {
  if (n === undefined || n === null) return "?";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function duration(seconds) {
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  const sec = `${s.toFixed(1)} s`;
  if (h) return `${h} h ${m} min ${sec}`;
  return m ? `${m} min ${sec}` : sec;
}

/** `value` with at most `digits` decimals, trailing zeros dropped; "–" when unknown. */
function number(value, digits = 1) {
  if (value === undefined || value === null) return "–";
  const text = Number(value).toFixed(digits);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

function stateClass(state) {
  return ROUTE_STATES.includes(state) ? `state-${state}` : "state-other";
}

function nodeName(id) {
  return live.names.get(id) || id;
}

function modelName(id) {
  return live.models.get(id) || id;
}

// -- talking to the server --------------------------------------------------------------

async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const reason = data && data.error && (data.error.reason || (typeof data.error === "string" && data.error));
    throw new Error(reason || `${method} ${path}: HTTP ${response.status}`);
  }
  return data;
}

function showMessage(text) {
  const box = $("#message");
  box.textContent = text || "";
  box.hidden = !text;
}

async function act(what, call) {
  try {
    await call();
    showMessage("");
  } catch (error) {
    showMessage(`${what}: ${error.message}`);
  }
  live.dirty = true;
  pollNow();
}

// -- polling ----------------------------------------------------------------------------

let busy = false, again = false, timer = null;

async function pollNow() {
  if (busy) { again = true; return; }
  busy = true;
  clearTimeout(timer);
  try {
    do { again = false; await poll(); } while (again);
  } finally {
    busy = false;
    timer = setTimeout(pollNow, POLL_MS);
  }
}

async function poll() {
  try {
    if (live.next === null) {
      const end = await api("GET", `/_sim/events?since=${MAX_SEQ}`);
      live.next = Math.max(0, end.next - KEPT_EVENTS);
    }
    const [clock, log] = await Promise.all([api("GET", "/_sim/clock"), api("GET", `/_sim/events?since=${live.next}`)]);
    const moved = log.events.length > 0 || clock.now !== live.now || live.dirty;
    live.next = log.next;
    live.now = clock.now;
    live.events = live.events.concat(log.events).slice(-KEPT_EVENTS);
    renderClock(clock);
    if (moved) {
      live.dirty = false;
      await refreshSnapshot();
      const last = live.events.length ? live.events[live.events.length - 1].seq : -1;
      redraw($("#timeline"), [last, [...live.names], [...live.models]], () => renderTimeline($("#timeline"), live.events));
    }
    setStatus("live", false);
  } catch (error) {
    setStatus(`disconnected (${error.message})`, true);
  }
}

function setStatus(text, bad) {
  const status = $("#status");
  status.textContent = text;
  status.classList.toggle("bad", bad);
}

async function refreshSnapshot() {
  const [nodes, stats, latency, profile, osModels] = await Promise.all([
    api("GET", "/_sim/nodes"),
    api("GET", "/_ml/trained_models/_stats?size=10000"),
    api("GET", "/_sim/latency"),
    api("GET", "/_plugins/_ml/profile/models"),
    api("POST", "/_plugins/_ml/models/_search", {
      query: { match_all: {} }, size: 10000, _source: ["name", "model_state", "chunk_number"],
    }).catch(() => null),
  ]);
  for (const node of nodes.nodes) live.names.set(node.id, node.name);
  const osNames = new Map();
  for (const hit of (osModels && osModels.hits.hits) || []) {
    if (hit._source.chunk_number === undefined) osNames.set(hit._id, hit._source);
    if (hit._source.name) live.models.set(hit._id, hit._source.name);
  }
  const deployments = stats.trained_model_stats.filter((s) => s.deployment_stats).map((s) => s.deployment_stats);
  const names = [...osNames];
  redraw($("#zones"), [nodes.nodes, profile.nodes, names], () => renderZones($("#zones"), nodes.nodes, profile.nodes || {}, osNames, true));
  const p99 = (d) => ((latency.deployments[d.deployment_id] || {}).last_minute || { latency_ms: {} }).latency_ms.p99;
  const rows = deployments.map((d) => ({ ...d, p99_ms: p99(d) ?? null }));
  redraw($("#deployments tbody"), rows, () => renderDeployments(rows));
  redraw($("#os-models tbody"), [profile.nodes, names], () => renderOsModels(profile.nodes || {}, osNames));
}

const drawn = new WeakMap();

/** Draw `container` again only when what it shows changed, so that a button under the
 * pointer survives the polls of a realtime clock. */
function redraw(container, data, draw) {
  const key = JSON.stringify(data);
  if (drawn.get(container) === key) return;
  drawn.set(container, key);
  draw();
}

// -- the clock --------------------------------------------------------------------------

function renderClock(clock) {
  $("#clock-mode").textContent = clock.mode === "realtime" ? `realtime ×${clock.speed}` : clock.mode;
  $("#clock-time").textContent = clock.timestamp;
  $("#clock-now").textContent = `t = ${duration(clock.now)}`;
  $("#advance").hidden = clock.mode === "realtime";
}

// -- nodes ------------------------------------------------------------------------------

/** Nodes grouped by zone; `live` nodes get meters and action buttons, replayed ones not. */
function renderZones(container, nodes, profileNodes, osNames, isLive) {
  const zones = new Map();
  for (const node of nodes) {
    if (!zones.has(node.zone)) zones.set(node.zone, []);
    zones.get(node.zone).push(node);
  }
  const boxes = [...zones.keys()].sort().map((zone) => el("div", { class: "zone", data: { zone } },
    el("h3", {}, zone ? `zone ${zone}` : "no zone", el("span", { class: "muted" }, ` · ${zones.get(zone).length} node${zones.get(zone).length === 1 ? "" : "s"}`)),
    el("div", { class: "node-row" }, zones.get(zone).map((node) => renderNode(node, profileNodes[node.id], osNames, isLive)))));
  container.replaceChildren(...(boxes.length ? boxes : [el("p", { class: "muted" }, "no ML nodes")]));
}

function renderNode(node, profile, osNames, isLive) {
  const osModels = Object.entries((profile && profile.models) || {});
  return el("div", { class: `node${node.leaving ? " leaving" : ""}`, data: { nodeId: node.id, nodeName: node.name } },
    el("div", { class: "node-head" },
      el("strong", { class: "node-name" }, node.name),
      node.leaving ? el("span", { class: "badge warn" }, "leaving") : null,
      el("span", { class: "node-id muted", title: node.id }, node.id),
      isLive ? el("span", { class: "node-actions" },
        el("button", { type: "button", class: "crash", title: "the node vanishes; its routes restart elsewhere",
          onclick: () => act(`crash ${node.name}`, () => api("POST", `/_sim/nodes/${encodeURIComponent(node.id)}/_crash`)) }, "crash"),
        el("button", { type: "button", class: "remove", title: "graceful shutdown: routes drain first",
          onclick: () => act(`remove ${node.name}`, () => api("DELETE", `/_sim/nodes/${encodeURIComponent(node.id)}`)) }, "remove")) : null),
    isLive ? [
      meter("memory", node.memory_used + node.ml_commons_memory, node.ml_memory_limit,
        `${bytes(node.memory_used + node.ml_commons_memory)} / ${bytes(node.ml_memory_limit)}`,
        `ML memory: deployments ${bytes(node.memory_used)}, ml-commons ${bytes(node.ml_commons_memory)}, limit ${bytes(node.ml_memory_limit)} of ${bytes(node.machine_memory)} machine memory`),
      meter("cores", node.cores_used, node.cores, `${node.cores_used} / ${node.cores}`, "cores used by allocations × threads"),
    ] : el("div", { class: "muted capacity" }, `${bytes(node.machine_memory)} · ${node.allocated_processors} processors`),
    el("ul", { class: "routes" }, node.routes.map((route) => el("li", {
      class: `chip route ${stateClass(route.routing_state)}`,
      data: { deployment: route.deployment_id, state: route.routing_state },
      title: `${route.deployment_id}: ${route.routing_state}${route.reason ? ` (${route.reason})` : ""}`,
    }, el("span", { class: "chip-name" }, route.deployment_id),
    el("span", { class: "chip-detail" }, `${route.current_allocations}/${route.target_allocations} · ${route.routing_state}`)))),
    osModels.length ? el("ul", { class: "routes os-models" }, osModels.map(([id, model]) => el("li", {
      class: `chip os os-${String(model.model_state).toLowerCase()}`,
      data: { osModel: id, state: model.model_state },
      title: `${id}: ${model.model_state}`,
    }, el("span", { class: "chip-name" }, (osNames.get(id) || {}).name || id),
    el("span", { class: "chip-detail" }, String(model.model_state).toLowerCase())))) : null);
}

function meter(label, used, limit, text, title) {
  const share = limit > 0 ? Math.min(1, used / limit) : 0;
  const fill = el("span", { class: "meter-fill" });
  fill.style.width = `${(share * 100).toFixed(1)}%`; // CSSOM, which the page's CSP allows
  return el("div", { class: "meter", title },
    el("span", { class: "meter-label" }, label),
    el("span", { class: `meter-bar${share > 0.9 ? " full" : ""}` }, fill),
    el("span", { class: "meter-text" }, text));
}

// -- deployments and models -------------------------------------------------------------

function renderDeployments(deployments) {
  const rows = deployments.map((d) => {
    const status = d.allocation_status || {};
    const started = (d.nodes || []).filter((n) => n.routing_state.routing_state === "started");
    const perMinute = started.reduce((sum, n) => sum + (n.throughput_last_minute || 0), 0);
    const timed = started.filter((n) => n.average_inference_time_ms_last_minute !== undefined);
    const avg = timed.length ? timed.reduce((sum, n) => sum + n.average_inference_time_ms_last_minute * n.throughput_last_minute, 0)
      / Math.max(1, timed.reduce((sum, n) => sum + n.throughput_last_minute, 0)) : null;
    const pending = started.reduce((sum, n) => sum + (n.number_of_pending_requests || 0), 0);
    const routes = (d.nodes || []).map((n) => {
      const [id] = Object.keys(n.node);
      return el("span", { class: `chip ${stateClass(n.routing_state.routing_state)}` }, n.node[id].name || id);
    });
    return el("tr", { data: { deployment: d.deployment_id, state: d.state } },
      el("td", { class: "name", title: d.model_id }, d.deployment_id),
      el("td", {}, el("span", { class: `chip ${stateClass(d.state)}` }, d.state)),
      el("td", { class: "num allocations" }, `${status.allocation_count ?? 0} / ${status.target_allocation_count ?? d.number_of_allocations}`),
      el("td", { class: "allocation-status" }, status.state || "–"),
      el("td", {}, routes),
      el("td", { class: "num rate" }, number(perMinute / 60, 2)),
      el("td", { class: "num latency" }, number(avg, 1)),
      el("td", { class: "num p99", title: "from mlsim's latency bins (GET /_sim/latency): ES's stats keep only sums" }, number(d.p99_ms, 1)),
      el("td", { class: `num rejected${d.rejected_execution_count ? " bad-text" : ""}` }, String(d.rejected_execution_count || 0)),
      el("td", { class: "num pending" }, String(pending)));
  });
  $("#deployments tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 10, class: "muted" }, "no deployments"))]));
}

function renderOsModels(profileNodes, osNames) {
  const models = new Map();
  for (const [nodeId, node] of Object.entries(profileNodes)) {
    for (const [id, model] of Object.entries(node.models || {})) {
      if (!models.has(id)) models.set(id, { nodes: [], count: 0, p99: null });
      const entry = models.get(id);
      if (model.model_state === "DEPLOYED") entry.nodes.push(nodeName(nodeId));
      const stats = model.predict_request_stats; // per node: the worst node's p99 bounds the model's
      if (stats) {
        entry.count += stats.count || 0;
        if (stats.p99 !== undefined) entry.p99 = Math.max(entry.p99 ?? 0, stats.p99);
      }
    }
  }
  for (const id of osNames.keys()) if (!models.has(id)) models.set(id, { nodes: [], count: 0, p99: null });
  const rows = [...models.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, m]) => {
    const source = osNames.get(id) || {};
    return el("tr", { data: { osModel: id } },
      el("td", { class: "name", title: id }, source.name || id, el("span", { class: "muted" }, ` ${id}`)),
      el("td", {}, source.model_state || "–"),
      el("td", { class: "workers" }, m.nodes.sort().join(", ") || "–"),
      el("td", { class: "num count" }, String(m.count)),
      el("td", { class: "num p99" }, number(m.p99, 1)));
  });
  $("#os-models tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "no models"))]));
}

// -- the event timeline -----------------------------------------------------------------

const HIDDEN_FIELDS = new Set(["seq", "time", "event", "cause"]);

function describe(event) {
  const parts = [];
  for (const [key, value] of Object.entries(event)) {
    if (HIDDEN_FIELDS.has(key) || value === null || value === "") continue;
    let text;
    if (key === "node_id") text = nodeName(value);
    else if (key === "model_id") text = modelName(value);
    else if (key === "nodes" && Array.isArray(value)) text = value.map(nodeName).join(",");
    else if (typeof value === "object") text = JSON.stringify(value);
    else text = String(value);
    parts.push(key === "node_id" || key.endsWith("_id") ? text : `${key}=${text}`);
  }
  return parts.join(" ");
}

function renderTimeline(list, events) {
  const shown = events.slice(-TIMELINE_SIZE).reverse();
  list.replaceChildren(...shown.map((e) => el("li", { class: `event kind-${e.event}`, data: { event: e.event, seq: e.seq } },
    el("span", { class: "event-time" }, `${number(e.time, 1)} s`),
    el("span", { class: "event-kind" }, e.event),
    el("span", { class: "event-text", title: `cause: ${e.cause}` }, describe(e)))));
}

// -- actions ----------------------------------------------------------------------------

function wireActions() {
  for (const button of document.querySelectorAll("#advance button")) {
    button.addEventListener("click", () => act("advance the clock",
      () => api("POST", "/_sim/clock/_advance", { seconds: Number(button.dataset.seconds) })));
  }
  $("#add-node").addEventListener("submit", (submit) => {
    submit.preventDefault();
    const form = new FormData(submit.target);
    const body = {};
    for (const [key, value] of form.entries()) {
      const text = String(value).trim();
      if (text) body[key] = key === "allocated_processors" ? Number(text) : text;
    }
    act("add a node", () => api("POST", "/_sim/nodes", body));
  });
  $("#run-file").addEventListener("change", async (change) => {
    const run = $("#run");
    run.replaceChildren();
    for (const file of change.target.files) {
      try {
        run.append(openRunFile(file.name, await file.text()));
      } catch (error) {
        run.append(el("p", { class: "bad-text" }, `${file.name}: ${error.message}`));
      }
    }
  });
}

// -- a scenario run's files, read in the browser ---------------------------------------

function openRunFile(name, text) {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") || trimmed.includes("\n{")) {
    const events = trimmed.split("\n").filter((line) => line.trim()).map((line, i) => {
      try { return JSON.parse(line); } catch { throw new Error(`line ${i + 1} is not JSON`); }
    });
    return replayView(name, events);
  }
  const data = JSON.parse(trimmed);
  if (Array.isArray(data.events)) return replayView(name, data.events);
  return summaryView(name, data);
}

/** The cluster's nodes and routes after the first `count` events of a run. */
function replay(events, count) {
  const nodes = new Map();
  const os = {};
  const route = (e) => nodes.get(e.node_id) && nodes.get(e.node_id).routes.get(e.deployment_id);
  for (const e of events.slice(0, count)) {
    if (e.event === "node_joined") {
      live.names.set(e.node_id, e.name);
      nodes.set(e.node_id, { id: e.node_id, name: e.name, zone: e.zone || "", machine_memory: e.machine_memory,
        allocated_processors: e.allocated_processors, leaving: false, routes: new Map() });
      os[e.node_id] = { models: {} };
    } else if (e.event === "node_crashed" || e.event === "node_left") {
      nodes.delete(e.node_id);
      delete os[e.node_id];
    } else if (e.event === "node_leaving" && nodes.has(e.node_id)) {
      nodes.get(e.node_id).leaving = true;
    } else if (e.event === "route_added" && nodes.has(e.node_id)) {
      nodes.get(e.node_id).routes.set(e.deployment_id, { deployment_id: e.deployment_id, current_allocations: 0,
        target_allocations: e.allocations, routing_state: "starting", reason: "" });
    } else if (e.event === "routing_state" && route(e)) {
      Object.assign(route(e), { routing_state: e.state, reason: e.reason || "" });
      if (e.state === "started") route(e).current_allocations = route(e).target_allocations;
    } else if (e.event === "route_removed" && nodes.has(e.node_id)) {
      nodes.get(e.node_id).routes.delete(e.deployment_id);
    } else if (e.event === "os_load" && os[e.node_id]) {
      os[e.node_id].models[e.model_id] = { model_state: "DEPLOYED" };
    } else if (e.event === "os_unload" && os[e.node_id]) {
      delete os[e.node_id].models[e.model_id];
    }
  }
  const shown = [...nodes.values()].map((n) => ({ ...n, routes: [...n.routes.values()] }));
  shown.sort((a, b) => a.name.localeCompare(b.name));
  return { nodes: shown, os };
}

function replayView(name, events) {
  const zones = el("div", { class: "zones" });
  const timeline = el("ol", { class: "timeline", reversed: true });
  const label = el("span", { class: "muted" });
  const slider = el("input", { type: "range", min: 0, max: events.length, value: events.length, class: "replay-slider" });
  const show = () => {
    const count = Number(slider.value);
    const state = replay(events, count);
    renderZones(zones, state.nodes, state.os, new Map(), false);
    renderTimeline(timeline, events.slice(0, count));
    const last = events[count - 1];
    label.textContent = `${count} of ${events.length} events${last ? `, t = ${duration(last.time)}` : ""}`;
  };
  slider.addEventListener("input", show);
  show();
  return el("div", { class: "run-file", data: { file: name } },
    el("h3", {}, name, " ", label), slider, el("div", { class: "replay" }, zones, timeline));
}

function summaryView(name, data) {
  const rows = [];
  const walk = (prefix, value) => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v);
    } else {
      rows.push(el("tr", {}, el("th", {}, prefix), el("td", {}, typeof value === "number" ? number(value, 3) : typeof value === "string" ? value : JSON.stringify(value))));
    }
  };
  walk("", data);
  return el("div", { class: "run-file", data: { file: name } }, el("h3", {}, name), el("table", { class: "summary" }, el("tbody", {}, rows)));
}

wireActions();
pollNow();
