// Hearth dashboard: polls /api/cluster every 2 s and draws what the cluster is doing. No dependencies.
"use strict";

const POLL_MS = 2000;
const WINDOW_MS = 10 * 60 * 1000;      // history kept
const MIN_WINDOW_MS = 2 * 60 * 1000;   // the charts show at least this much, at most WINDOW_MS
const PALETTE = ["#3182ce", "#38a169", "#d69e2e", "#805ad5", "#e53e3e", "#319795", "#dd6b20", "#d53f8c", "#2c5282", "#744210"];

const history = [];          // { at, total, silos: { name: { messagesPerSecond, latencyP50Ms, latencyP99Ms, status } } }
const colors = new Map();    // silo name -> color, stable while the page is open
let selectedThermostat = null;

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const fmt1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

function colorOf(name) {
  if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
  return colors.get(name);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function ago(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  return seconds < 60 ? `${fmt1.format(seconds)} s ago` : `${fmt.format(seconds / 60)} min ago`;
}

function time(iso) {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  // The login cookie expired or its key was withdrawn: log in again, then come back here.
  if (response.status === 401) {
    location.href = `login?ReturnUrl=${encodeURIComponent(location.pathname + location.search)}`;
    throw new Error(`${url}: HTTP 401, logging in again`);
  }
  if (!response.ok && response.status !== 404) throw new Error(`${url}: HTTP ${response.status}`);
  return { status: response.status, body: await response.json() };
}

// ---- rendering -------------------------------------------------------------------------------

function renderCards(cluster) {
  const active = cluster.silos.filter((s) => s.status === "active");
  $("served-by").textContent = cluster.servedBy;
  $("card-silos").textContent = `${active.length} / ${cluster.silos.length}`;
  $("card-partitions").textContent = `${cluster.queues.filter((q) => q.owner).length} / ${cluster.partitions}`;
  $("card-mps").textContent = fmt.format(active.reduce((sum, s) => sum + s.messagesPerSecond, 0));
  $("card-processed").textContent = fmt.format(active.reduce((sum, s) => sum + s.messagesProcessed, 0));
  $("card-activations").textContent = fmt.format(active.reduce((sum, s) => sum + s.activations, 0));
  const p99 = Math.max(...active.map((s) => s.latencyP99Ms ?? 0));
  $("card-p99").textContent = p99 > 0 ? `${fmt1.format(p99)} ms` : "–";
  $("card-kafka").textContent = `${cluster.bootstrapServers}  ·  group ${cluster.groupId}  ·  Orleans cluster ${cluster.clusterId}`;
  document.querySelector("[data-testid=orleans-dashboard]").hidden = !cluster.orleansDashboard;
  // With Auth:Mode=none nobody logs in, and there is no /logout to post to.
  document.querySelector("form.logout").hidden = !cluster.login;
}

function renderSilos(cluster) {
  const rows = cluster.silos.map((s) => {
    const dead = s.status === "dead";
    const figure = (text) => (dead ? "–" : text);
    return el("tr", { "data-testid": "silo-row", "data-silo": s.name, "data-status": s.status },
      el("td", {}, el("span", { class: "swatch", style: `background:${colorOf(s.name)}` }), s.name),
      el("td", {}, el("span", { class: `pill ${s.status}`, "data-testid": "silo-status" }, s.status)),
      el("td", { "data-testid": "silo-partitions", title: s.queues.join(", ") }, queueSummary(s.queues)),
      el("td", { class: "num" }, figure(fmt.format(s.activations))),
      el("td", { class: "num", "data-testid": "silo-mps" }, figure(fmt.format(s.messagesPerSecond))),
      el("td", { class: "num", "data-testid": "silo-lag", title: s.stalls.map(stallText).join("\n") },
        figure(fmt.format(s.lag)), ...(s.stalls.length ? [" ", el("span", { class: "pill stalled", "data-testid": "silo-stalled" }, "waiting")] : [])),
      el("td", { class: "num" }, figure(`${fmt1.format(s.cpuPercent)} %`)),
      el("td", { class: "num" }, figure(`${fmt.format(s.memoryMb)} MB`)),
      el("td", { class: "num" }, s.reportedAt ? ago(s.reportedAt) : "–"),
      el("td", { class: "muted" }, s.httpAddress ?? ""));
  });
  $("silos").replaceChildren(...rows);
}

// A stalled partition, for a tooltip: "readings[3] waiting since 08:00:01: TimeoutException: ..."
function stallText(s) {
  return `${s.topic}[${s.partition}] waiting since ${new Date(s.since).toLocaleTimeString()}: ${s.reason}`;
}

// "readings/0", "readings/1", "settings/0" -> "readings 0,1 · settings 0"
function queueSummary(queues) {
  if (!queues.length) return "–";
  const byTopic = new Map();
  for (const q of queues) {
    const slash = q.lastIndexOf("/");
    const topic = q.slice(0, slash), partition = q.slice(slash + 1);
    if (!byTopic.has(topic)) byTopic.set(topic, []);
    byTopic.get(topic).push(partition);
  }
  return [...byTopic].map(([topic, partitions]) => `${topic} ${partitions.join(",")}`).join("  ·  ");
}

function renderPartitions(cluster) {
  const topics = [...new Set(cluster.queues.map((q) => q.topic))];
  const groups = topics.map((topic) =>
    el("div", { class: "topic" },
      el("div", { class: "topic-name muted" }, topic),
      el("div", { class: "tiles" }, ...cluster.queues.filter((q) => q.topic === topic).map((q) =>
        el("div", {
          class: q.owner ? "tile" : "tile unowned",
          style: q.owner ? `background:${colorOf(q.owner)}` : undefined,
          "data-testid": "partition-tile", "data-topic": q.topic, "data-partition": q.partition, "data-owner": q.owner ?? "",
          title: q.owner ? `${q.topic}/${q.partition}: ${q.owner}, lag ${q.lag ?? "?"}` : `${q.topic}/${q.partition}: no owner (moving)`,
        },
          el("div", { class: "p" }, q.partition),
          el("div", {}, q.owner ?? "no owner"),
          el("div", {}, q.lag === null || q.lag === undefined ? "" : `lag ${fmt.format(q.lag)}`))))));
  $("partitions").replaceChildren(...groups);
}

function renderEvents(cluster) {
  const rows = cluster.events.map((e) =>
    el("tr", { "data-testid": "event-row", "data-silo": e.silo, "data-kind": e.kind },
      el("td", {}, time(e.at)),
      el("td", {}, el("span", { class: "swatch", style: `background:${colorOf(e.silo)}` }), e.silo),
      el("td", {}, e.kind === "queues" ? "partitions" : e.kind),
      el("td", {}, e.detail)));
  $("events").replaceChildren(...rows);
}

// ---- charts ----------------------------------------------------------------------------------

function drawChart(canvas, series, unit) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const left = 56, right = 12, top = 10, bottom = 42;
  const now = Date.now();
  const span = Math.min(WINDOW_MS, Math.max(MIN_WINDOW_MS, history.length ? now - history[0].at : 0));
  const from = now - span;
  const values = series.flatMap((s) => s.points.map((p) => p.v)).filter((v) => Number.isFinite(v));
  let max = Math.max(1, ...values);
  const magnitude = Math.pow(10, Math.floor(Math.log10(max)));
  max = Math.ceil(max / magnitude) * magnitude;
  const x = (t) => left + ((t - from) / span) * (width - left - right);
  const y = (v) => top + (1 - v / max) * (height - top - bottom);

  g.font = "11px system-ui, sans-serif";
  g.strokeStyle = "#e3e6ec";
  g.fillStyle = "#6b7385";
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i, py = Math.round(y(v)) + 0.5;
    g.beginPath(); g.moveTo(left, py); g.lineTo(width - right, py); g.stroke();
    g.textAlign = "right"; g.textBaseline = "middle";
    g.fillText(`${fmt.format(v)}${unit}`, left - 6, py);
  }
  g.textAlign = "center"; g.textBaseline = "top";
  const step = [30000, 60000, 120000].find((ms) => span / ms <= 6) ?? 120000;
  for (let back = Math.floor(span / step) * step; back >= 0; back -= step) {
    const label = back === 0 ? "now" : back < 60000 ? `-${back / 1000} s` : `-${back / 60000} min`;
    g.fillText(label, x(now - back), height - bottom + 6);
  }

  let legendX = left;
  for (const s of series) {
    const points = s.points.filter((p) => p.t >= from && Number.isFinite(p.v));
    g.strokeStyle = s.color;
    g.lineWidth = s.width ?? 2;
    g.setLineDash(s.dash ?? []);
    g.beginPath();
    points.forEach((p, i) => (i === 0 ? g.moveTo(x(p.t), y(p.v)) : g.lineTo(x(p.t), y(p.v))));
    g.stroke();
    g.setLineDash([]);
    g.fillStyle = s.color;
    g.fillRect(legendX, height - 14, 10, 3);
    g.fillStyle = "#1d2330";
    g.textAlign = "left"; g.textBaseline = "middle";
    g.fillText(s.name, legendX + 14, height - 12);
    legendX += g.measureText(s.name).width + 34;
  }
}

function renderCharts() {
  const names = [...new Set(history.flatMap((h) => Object.keys(h.silos)))].sort();
  const throughput = [
    { name: "total", color: "#1d2330", width: 2.5, points: history.map((h) => ({ t: h.at, v: h.total })) },
    ...names.map((n) => ({
      name: n, color: colorOf(n), width: 1.5,
      points: history.filter((h) => h.silos[n] && h.silos[n].status !== "dead").map((h) => ({ t: h.at, v: h.silos[n].messagesPerSecond })),
    })),
  ];
  drawChart($("chart-throughput"), throughput, "");
  const worst = (h, key) => Math.max(...Object.values(h.silos).map((s) => s[key] ?? NaN).filter(Number.isFinite));
  const latency = [
    { name: "p50", color: "#3182ce", points: history.map((h) => ({ t: h.at, v: worst(h, "latencyP50Ms") })) },
    { name: "p99", color: "#e53e3e", points: history.map((h) => ({ t: h.at, v: worst(h, "latencyP99Ms") })) },
  ];
  drawChart($("chart-latency"), latency, " ms");
}

function addSample(at, silos) {
  if (history.length && at <= history[history.length - 1].at) return;
  const sample = { at, total: 0, silos: {} };
  for (const s of silos) {
    sample.silos[s.name] = s;
    if (s.status === "active") sample.total += s.messagesPerSecond;
  }
  history.push(sample);
  while (history.length && history[0].at < Date.now() - WINDOW_MS) history.shift();
}

// ---- thermostat search -----------------------------------------------------------------------

async function showThermostat(id) {
  const box = $("thermostat");
  try {
    const { status, body } = await getJson(`api/thermostats/${encodeURIComponent(id)}`);
    if (status === 404) {
      box.replaceChildren(el("span", { class: "error", "data-testid": "thermostat-error" }, body.detail ?? `Thermostat ${id} is unknown.`));
      return;
    }
    const t = body;
    const value = (v, suffix = "") => (v === null || v === undefined ? "–" : `${v}${suffix}`);
    const items = [
      ["Thermostat", t.thermostatId], ["Setpoint", value(t.setpoint, " °")],
      ["Band", t.setpoint === null ? "–" : `${t.setpoint - t.downDelta} … ${t.setpoint + t.upDelta} °`],
      ["Last reading", t.lastMeasurement === null ? "–" : `${t.lastMeasurement} ° at ${time(t.lastReadingAt)}`],
      ["Heater", value(t.heater)], ["Last command", t.lastCommandSeq ? `#${t.lastCommandSeq} at ${time(t.lastCommandAt)}` : "none"],
      ["Hosted by", t.owner ?? "–"],
      ["Partition", t.partition],
    ];
    const dl = el("dl", { "data-testid": "thermostat-state" }, ...items.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-field": k }, v)]));
    const commands = el("table", { "data-testid": "thermostat-commands" },
      el("thead", {}, el("tr", {}, el("th", {}, "Seq"), el("th", {}, "Action"), el("th", { class: "num" }, "Measurement"),
        el("th", { class: "num" }, "Setpoint"), el("th", {}, "At"))),
      el("tbody", {}, ...t.recentCommands.map((c) => el("tr", {}, el("td", {}, c.seq), el("td", {}, el("span", { class: `pill ${c.action === "on" ? "joining" : "live"}` }, c.action)),
        el("td", { class: "num" }, c.measurement), el("td", { class: "num" }, c.setpoint), el("td", {}, time(c.timestamp))))));
    box.classList.remove("muted");
    box.replaceChildren(dl, el("h2", {}, "Recent commands"), commands);
  } catch (error) {
    box.replaceChildren(el("span", { class: "error" }, String(error.message ?? error)));
  }
}

$("search").addEventListener("submit", (event) => {
  event.preventDefault();
  selectedThermostat = $("search-id").value.trim() || null;
  if (selectedThermostat) showThermostat(selectedThermostat);
});

// ---- polling ---------------------------------------------------------------------------------

async function poll() {
  try {
    const { body: cluster } = await getJson("api/cluster");
    renderCards(cluster);
    renderSilos(cluster);
    renderPartitions(cluster);
    renderEvents(cluster);
    addSample(new Date(cluster.at).getTime(), cluster.silos);
    renderCharts();
    if (selectedThermostat) await showThermostat(selectedThermostat);
    $("connection").textContent = "live";
    $("connection").className = "pill live";
  } catch (error) {
    $("connection").textContent = "offline";
    $("connection").className = "pill offline";
    console.warn(error);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

async function start() {
  try {
    const { body } = await getJson("api/cluster/history");
    for (const sample of body) addSample(sample.atMs, Object.entries(sample.silos).map(([name, s]) => ({ name, ...s })));
  } catch (error) {
    console.warn(error);
  }
  poll();
}

window.addEventListener("resize", renderCharts);
start();
