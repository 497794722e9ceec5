// DTM Atlas web map: MapLibre GL JS over the service's vector tiles (/tiles/...), no basemap and no
// request outside this server. State lives in the URL hash (#population=idp&round=120&indicator=individuals&level=2).
// window.dtmAtlas exposes the map and whenIdle() (resolves once the current choice is drawn) for tests.
import { AttributionControl, Map as MapLibreMap, NavigationControl } from "maplibre-gl";

const LEVELS = {
  1: { layer: "governorates", name: "Governorate", plural: "governorates" },
  2: { layer: "districts", name: "District", plural: "districts" },
  3: { layer: "subdistricts", name: "Sub-district", plural: "sub-districts" },
};
const POPULATIONS = { idp: "IDPs", returnee: "Returnees" };
const INDICATORS = ["individuals", "families", "change", "share"];
const INDICATOR_LABELS = { individuals: "Individuals", families: "Families", change: "Change since previous round",
  share: "Share of national total" };
const SERIES_COLOR = { idp: "#993404", returnee: "#253494" };
// map furniture, as in styles/palette.py
const BACKGROUND = "#f4f4f2", OUTLINE = "#ffffff", PARENT_OUTLINE = "#4d4d4d", HIGHLIGHT = "#252525";
const DIVERGING_OUTLINE = "#b0b0b0";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const $ = (id) => document.getElementById(id);
const state = { population: "idp", round: null, indicator: "individuals", level: 2 };
let rounds = { idp: [], returnee: [] }; // per population, oldest reporting date first
let map = null, tilejson = null, legend = null, hovered = null, selected = null, shown = "";
let idleWaiters = [];

const api = (window.dtmAtlas = {
  map: null, state, legend: null, tilejson: null, renders: 0, idle: false, error: null,
  whenIdle: () => (api.idle ? Promise.resolve(api.renders) : new Promise((resolve) => idleWaiters.push(resolve))),
});

// ---------------------------------------------------------------------------------- helpers
function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(tag.startsWith("svg:") ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml",
    tag.replace(/^svg:/, ""));
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

async function getJSON(url) {
  const resp = await fetch(url, { headers: { accept: "application/json" } });
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) {
    const err = new Error((body && body.detail) || `${url}: HTTP ${resp.status}`);
    err.status = resp.status;
    throw err;
  }
  return body;
}

function status(text, isError = false) {
  const el = $("status");
  el.textContent = text || "";
  el.classList.toggle("error", isError);
  if (isError) api.error = text;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
function fmt(value, numberFormat) {
  if (value === null || value === undefined || Number.isNaN(value)) return "no data";
  switch (numberFormat) {
    case "signed": return value > 0 ? `+${integer.format(value)}` : value < 0 ? `−${integer.format(-value)}` : "0";
    case "percent": return `${(value * 100).toFixed(value * 100 >= 10 ? 1 : 2)}%`;
    case "decimal": return value.toLocaleString("en-US", { maximumFractionDigits: 3 });
    default: return integer.format(value);
  }
}
const numberFormatOf = (indicator) => ({ change: "signed", share: "percent" })[indicator] || "integer";

function dateLabel(iso) {
  const [y, m, d] = (iso || "").split("-").map(Number);
  return y ? `${d} ${MONTHS[m - 1]} ${y}` : "";
}

function monthLabel(iso) {
  const [y, m] = (iso || "").split("-").map(Number);
  return y ? `${MONTHS[m - 1]} ${y}` : "";
}

function names(p, cls = "") {
  return h("div", { class: `names ${cls}` },
    h("span", { class: "en", lang: "en" }, p.name_en || p.pcode),
    p.name_ar ? h("span", { class: "ar", lang: "ar", dir: "rtl" }, p.name_ar) : null);
}

// ------------------------------------------------------------------------------- URL state
function readHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  if (POPULATIONS[q.get("population")]) state.population = q.get("population");
  if (INDICATORS.includes(q.get("indicator"))) state.indicator = q.get("indicator");
  if (LEVELS[q.get("level")]) state.level = Number(q.get("level"));
  state.round = /^\d+$/.test(q.get("round") || "") ? Number(q.get("round")) : null;
}

function writeHash() {
  const q = new URLSearchParams({ population: state.population, round: state.round, indicator: state.indicator,
    level: state.level });
  history.replaceState(null, "", `#${q}`);
}

// --------------------------------------------------------------------------------- controls
function fillRounds() {
  const list = rounds[state.population];
  if (!list.some((r) => r.round_number === state.round)) state.round = list.length ? list.at(-1).round_number : null;
  const select = $("round");
  select.replaceChildren(...list.map((r) => h("option", { value: r.round_number },
    `Round ${r.round_number} · ${dateLabel(r.reporting_date)}`)).reverse());
  select.value = state.round ?? "";
  select.disabled = list.length === 0;
}

function syncControls() {
  $("population").value = state.population;
  $("indicator").value = state.indicator;
  for (const radio of document.querySelectorAll('input[name="level"]')) radio.checked = Number(radio.value) === state.level;
  fillRounds();
}

function bindControls() {
  $("population").addEventListener("change", (e) => { state.population = e.target.value; fillRounds(); update(); });
  $("round").addEventListener("change", (e) => { state.round = Number(e.target.value); update(); });
  $("indicator").addEventListener("change", (e) => { state.indicator = e.target.value; update(); });
  for (const radio of document.querySelectorAll('input[name="level"]')) {
    radio.addEventListener("change", (e) => { if (e.target.checked) { state.level = Number(e.target.value); update(); } });
  }
  window.addEventListener("hashchange", () => { readHash(); syncControls(); update(); });
}

// ------------------------------------------------------------------------------------ style
function tileLayers() {
  const own = LEVELS[state.level].layer;
  return state.level > 1 ? `${own},governorates` : own; // one composite tile: the units and the governorate lines
}

function tilejsonUrl() {
  const q = new URLSearchParams({ population: state.population, indicator: state.indicator });
  if (state.round !== null) q.set("round", state.round);
  return `/tiles/${tileLayers()}.json?${q}`;
}

function fillColor(lg) {
  if (!lg.colors || lg.colors.length === 0) return lg.no_data_color;
  // the tiles carry the class (styles.classify, computed server side); null class = no data
  return ["match", ["get", "class"], ...lg.colors.flatMap((c, i) => [i, c]), lg.no_data_color];
}

function buildStyle(tj) {
  const layer = LEVELS[state.level].layer;
  const lg = tj.legends[layer];
  const state_ = (name) => ["boolean", ["feature-state", name], false];
  const layers = [
    { id: "background", type: "background", paint: { "background-color": BACKGROUND } },
    { id: "units-fill", type: "fill", source: "units", "source-layer": layer,
      paint: { "fill-color": fillColor(lg), "fill-opacity": 1, "fill-antialias": true } },
    { id: "units-outline", type: "line", source: "units", "source-layer": layer, layout: { "line-join": "round" },
      // white edges, except on diverging maps whose neutral middle class is near white
      paint: { "line-color": lg.diverging ? DIVERGING_OUTLINE : OUTLINE, "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.4, 8, 1, 12, 2] } },
  ];
  if (state.level > 1) {
    layers.push({ id: "governorate-lines", type: "line", source: "units", "source-layer": "governorates",
      layout: { "line-join": "round" },
      paint: { "line-color": PARENT_OUTLINE, "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.8, 8, 1.6, 12, 3] } });
  }
  layers.push({ id: "units-highlight", type: "line", source: "units", "source-layer": layer,
    layout: { "line-join": "round" },
    paint: { "line-color": HIGHLIGHT, "line-width": ["case", state_("selected"), 3, 2],
      "line-opacity": ["case", state_("selected"), 1, state_("hover"), 0.9, 0] } });
  return {
    version: 8,
    name: "DTM Atlas web map",
    transition: { duration: 0, delay: 0 },
    sources: {
      units: { type: "vector", tiles: tj.tiles, minzoom: tj.minzoom, maxzoom: tj.maxzoom, bounds: tj.bounds,
        attribution: tj.attribution, promoteId: "pcode" },
    },
    layers,
  };
}

// ----------------------------------------------------------------------------------- legend
function renderLegend(lg, tj) {
  const rnd = tj.dtm_atlas && tj.dtm_atlas.round;
  const items = (lg.colors || []).map((c, i) => h("li", {},
    h("span", { class: "swatch", style: `background:${c}` }), lg.labels[i],
    h("span", { class: "count", title: `${LEVELS[state.level].plural} in this class` }, String(lg.counts[i]))));
  items.push(h("li", {}, h("span", { class: "swatch", style: `background:${lg.no_data_color}` }),
    lg.no_data_label || "No data"));
  $("legend").replaceChildren(
    h("h2", {}, lg.title || INDICATOR_LABELS[state.indicator]),
    h("ol", {}, items),
    h("div", { class: "meta" }, [rnd ? `Round ${rnd.round_number}, ${dateLabel(rnd.reporting_date)}` : "",
      `${LEVELS[state.level].plural}`, `classes: ${(lg.method || "").replace("_", " ")}`].filter(Boolean).join(" · ")));
}

// ---------------------------------------------------------------------------------- hover
function setFeatureState(id, values) {
  if (id === null || id === undefined || !map.getSource("units")) return;
  map.setFeatureState({ source: "units", sourceLayer: LEVELS[state.level].layer, id }, values);
}

function figureRows(p) {
  const rows = [["Individuals", fmt(p.individuals, "integer")], ["Families", fmt(p.families, "integer")]];
  if (state.indicator === "change" || state.indicator === "share") {
    rows.push([INDICATOR_LABELS[state.indicator], fmt(p.value, numberFormatOf(state.indicator))]);
  }
  return h("dl", { class: "figures" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function showTooltip(feature, point) {
  const p = feature.properties;
  const tip = $("tooltip");
  const cls = typeof p.class === "number" ? p.class : null;
  const swatch = h("span", { class: "swatch", style: `background:${cls === null ? legend.no_data_color : legend.colors[cls]}` });
  tip.replaceChildren(names(p), h("div", { class: "pcode" }, `${p.pcode} · ${LEVELS[state.level].name}`), figureRows(p),
    h("div", { class: "pcode" }, swatch, " ", cls === null ? "No data" : legend.labels[cls]));
  tip.hidden = false;
  const box = $("map").getBoundingClientRect();
  const x = point.x + 14 + tip.offsetWidth > box.width ? point.x - 14 - tip.offsetWidth : point.x + 14;
  const y = point.y + 14 + tip.offsetHeight > box.height ? Math.max(0, point.y - 14 - tip.offsetHeight) : point.y + 14;
  tip.style.transform = `translate(${Math.max(0, x)}px, ${y}px)`;
}

function onMove(e) {
  const f = e.features && e.features[0];
  if (!f) return;
  if (hovered !== f.id) {
    setFeatureState(hovered, { hover: false });
    hovered = f.id;
    setFeatureState(hovered, { hover: true });
  }
  map.getCanvas().style.cursor = "pointer";
  showTooltip(f, e.point);
}

function onLeave() {
  setFeatureState(hovered, { hover: false });
  hovered = null;
  map.getCanvas().style.cursor = "";
  $("tooltip").hidden = true;
}

// ---------------------------------------------------------------------------- time series
function chart(series, current) {
  const W = 290, H = 130, L = 46, R = 26, T = 10, B = 30;
  const pts = series.filter((r) => r.individuals !== null && r.individuals !== undefined);
  if (pts.length === 0) return null;
  const t = pts.map((r) => Date.parse(r.reporting_date));
  const t0 = Math.min(...t), t1 = Math.max(...t);
  const max = Math.max(...pts.map((r) => r.individuals), 1);
  const x = (v) => (t1 === t0 ? L + (W - L - R) / 2 : L + ((v - t0) / (t1 - t0)) * (W - L - R));
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const color = SERIES_COLOR[state.population];
  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `Individuals per round: ${pts.map((r) => `round ${r.round_number} ${fmt(r.individuals)}`).join(", ")}` },
  h("svg:line", { class: "axis", x1: L, y1: y(0), x2: W - R, y2: y(0) }),
  h("svg:line", { class: "axis", x1: L, y1: T, x2: L, y2: y(0) }),
  h("svg:text", { x: L - 4, y: y(max) + 3, "text-anchor": "end" }, fmt(max)),
  h("svg:text", { x: L - 4, y: y(0) + 3, "text-anchor": "end" }, "0"),
  h("svg:polyline", { class: "series", stroke: color, points: pts.map((r, i) => `${x(t[i])},${y(r.individuals)}`).join(" ") }));
  pts.forEach((r, i) => {
    const isCurrent = r.round_number === current;
    svg.append(h("svg:circle", { cx: x(t[i]), cy: y(r.individuals), r: isCurrent ? 5 : 3.5, fill: isCurrent ? color : "#fff",
      stroke: color, "stroke-width": 2 }, h("svg:title", {}, `Round ${r.round_number}: ${fmt(r.individuals)} individuals`)));
    svg.append(h("svg:text", { x: x(t[i]), y: H - B + 13, "text-anchor": "middle" }, `R${r.round_number}`));
    svg.append(h("svg:text", { x: x(t[i]), y: H - B + 25, "text-anchor": "middle" }, (r.reporting_date || "").slice(0, 7)));
  });
  return svg;
}

function seriesTable(series, current) {
  return h("table", { class: "series" },
    h("thead", {}, h("tr", {}, ["Round", "Individuals", "Families", "Change"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, series.map((r) => h("tr", { class: r.round_number === current ? "current" : null },
      h("td", { title: dateLabel(r.reporting_date) }, `${r.round_number} · ${monthLabel(r.reporting_date)}`),
      h("td", {}, fmt(r.individuals)), h("td", {}, fmt(r.families)),
      h("td", {}, r.change_individuals === null ? "–" : fmt(r.change_individuals, "signed"))))));
}

async function showDetail(p) {
  const detail = $("detail");
  const close = h("button", { type: "button", class: "close", "aria-label": "Close", title: "Close" }, "×");
  close.addEventListener("click", clearSelection);
  const body = h("div", { class: "muted" }, "Loading the time series…");
  detail.replaceChildren(close, names(p), h("div", { class: "pcode" }, `${p.pcode} · ${LEVELS[state.level].name}`),
    h("h2", { style: "margin-top:8px" }, `${POPULATIONS[state.population]} across rounds`), body);
  detail.hidden = false;
  detail.dataset.pcode = p.pcode;
  delete detail.dataset.loaded;
  const population = state.population, round = state.round;
  try {
    const ts = await getJSON(`/admin-units/${encodeURIComponent(p.pcode)}/timeseries?population=${population}`);
    if (detail.dataset.pcode !== p.pcode) return; // another unit was clicked meanwhile
    body.replaceWith(h("div", {}, chart(ts.series, round), h("div", { class: "scroll" }, seriesTable(ts.series, round))));
  } catch (err) {
    if (detail.dataset.pcode !== p.pcode) return;
    body.textContent = err.status === 404 ? `No ${POPULATIONS[population]} figures for this unit in any round.` : err.message;
  }
  detail.dataset.loaded = "1";
}

function select(feature) {
  setFeatureState(selected && selected.pcode, { selected: false });
  selected = { ...feature.properties, level: state.level };
  setFeatureState(selected.pcode, { selected: true });
  $("hint").hidden = true;
  showDetail(selected);
}

function clearSelection() {
  setFeatureState(selected && selected.pcode, { selected: false });
  selected = null;
  $("detail").hidden = true;
  $("detail").replaceChildren();
  $("hint").hidden = false;
}

// ----------------------------------------------------------------------------------- update
async function update() {
  writeHash();
  const want = tilejsonUrl();
  if (want === shown) return;
  shown = want;
  api.idle = false;
  document.documentElement.dataset.map = "loading";
  status("Loading…");
  let tj;
  try {
    tj = await getJSON(want);
  } catch (err) {
    if (want === shown) shown = ""; // let the same choice be tried again
    status(err.message, true);
    return;
  }
  if (want !== shown) return; // a newer choice was made while this one loaded
  tilejson = api.tilejson = tj;
  legend = api.legend = tj.legends[LEVELS[state.level].layer];
  renderLegend(legend, tj);
  hovered = null;
  $("tooltip").hidden = true;
  if (!map) {
    createMap(tj);
  } else {
    map.setStyle(buildStyle(tj), { diff: true });
  }
  if (selected) {
    if (selected.level !== state.level) clearSelection();
    else showDetail(selected); // same unit, other population or round
  }
}

function onIdle() {
  // idle after the current choice's tiles are drawn (the source is the current TileJSON's)
  const src = map.getSource("units");
  if (!src || !tilejson || JSON.stringify(src.tiles) !== JSON.stringify(tilejson.tiles) || !map.areTilesLoaded()) return;
  if (selected) setFeatureState(selected.pcode, { selected: true });
  status("");
  if (api.idle) return;
  api.idle = true;
  api.renders += 1;
  document.documentElement.dataset.map = "idle";
  const waiters = idleWaiters;
  idleWaiters = [];
  waiters.forEach((resolve) => resolve(api.renders));
}

function createMap(tj) {
  const [w, s, e, n] = tj.bounds;
  map = api.map = new MapLibreMap({
    container: "map",
    style: buildStyle(tj),
    bounds: [[w, s], [e, n]],
    fitBoundsOptions: { padding: 16 },
    maxBounds: [[w - 8, s - 6], [e + 8, n + 6]],
    minZoom: 3,
    maxZoom: 13,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    renderWorldCopies: false,
    fadeDuration: 0,
    attributionControl: false,
  });
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.addControl(new NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new AttributionControl({ compact: true }), "bottom-right");
  map.on("mousemove", "units-fill", onMove);
  map.on("mouseleave", "units-fill", onLeave);
  map.on("click", "units-fill", (e) => e.features && e.features[0] && select(e.features[0]));
  map.on("idle", onIdle);
  map.on("error", (e) => {
    const message = (e.error && e.error.message) || "map error";
    console.error(message);
    status(`Map: ${message}`, true);
  });
}

// ------------------------------------------------------------------------------------- start
async function start() {
  readHash();
  bindControls();
  try {
    const all = await getJSON("/rounds");
    for (const r of all.sort((a, b) => a.reporting_date.localeCompare(b.reporting_date) || a.round_number - b.round_number)) {
      if (rounds[r.population]) rounds[r.population].push(r);
    }
  } catch (err) {
    status(`Cannot read the rounds: ${err.message}`, true);
    return;
  }
  if (rounds[state.population].length === 0 && rounds.idp.length + rounds.returnee.length > 0) {
    state.population = rounds.idp.length ? "idp" : "returnee";
  }
  syncControls();
  if (state.round === null) {
    status("No round has been imported yet: load a master list (POST /rounds or `dtm-atlas`), then reload.", true);
    return;
  }
  await update();
}

start();
