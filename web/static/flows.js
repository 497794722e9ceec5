// DTM Atlas web map, flow mode (service.flows): a checkbox and a range of months in the panel lay
// the Flow Monitoring lines (the registry's `flows` tile layer, /tiles/flows: origin -> point and
// point -> destination, width in px from the tile's `width`, linear in the count) over the map.
// A second checkbox lays the master lists' origin flows of the shown round (the tile layers
// `origin-flows-governorates|districts`: governorate of origin -> governorate or district of
// displacement, width linear in families). app.js replaces the style when the choice changes,
// so the layers are added again after each style change. window.dtmAtlas.flows exposes its state
// for tests (show(from, to), toggle(on), origins(on)).

const $ = (id) => document.getElementById(id);
const api = window.dtmAtlas;
const { h, getJSON } = api; // app.js's helpers (the modules run after it, in page order)
const mode = (api.flows = { on: false, from: null, to: null, ready: false, error: null, bounds: null });
const SOURCE = "flows", LINES = "flows-lines";
const OSOURCE = "origin-flows", OLINES = "origin-lines";
const origins = (mode.originsState = { on: false, key: null });

function originsKey() {  // the shown round's origin lines: level 1 to governorates, else districts
  const s = api.state;
  const layer = s.level === 1 ? "origin-flows-governorates" : "origin-flows-districts";
  const q = new URLSearchParams({ population: s.population || "idp" });
  if (s.round) q.set("round", s.round);
  if (s.country) q.set("country", s.country);
  return { layer, url: `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt?${q}` };
}

function drawOrigins() {
  const map = api.map;
  if (!map) return;
  const want = origins.on ? originsKey() : null;
  if (map.getLayer(OLINES) && want && origins.key === want.url) return;
  if (map.getLayer(OLINES)) map.removeLayer(OLINES);
  if (map.getSource(OSOURCE)) map.removeSource(OSOURCE);
  origins.key = null;
  if (!want) return;
  map.addSource(OSOURCE, { type: "vector", tiles: [want.url], minzoom: 0, maxzoom: 14 });
  map.addLayer({ id: OLINES, type: "line", source: OSOURCE, "source-layer": want.layer,
    layout: { "line-cap": "round" },
    paint: { "line-width": ["get", "width"], "line-color": "#b2182b",
      "line-opacity": ["case", ["get", "leaves"], 0.65, 0.25] } });
  origins.key = want.url;
}

function removeLayers() {
  const map = api.map;
  if (!map) return;
  if (map.getLayer(LINES)) map.removeLayer(LINES);
  if (map.getSource(SOURCE)) map.removeSource(SOURCE);
}

function addLayers() {
  const map = api.map;
  if (!mode.on || !map || !mode.from || map.getLayer(LINES)) return;
  const q = `from=${encodeURIComponent(mode.from)}&to=${encodeURIComponent(mode.to)}`;
  map.addSource(SOURCE, { type: "vector", tiles: [`${location.origin}/tiles/flows/{z}/{x}/{y}.mvt?${q}`], minzoom: 0, maxzoom: 14 });
  map.addLayer({ id: LINES, type: "line", source: SOURCE, "source-layer": "flows", layout: { "line-cap": "round" },
    paint: { "line-width": ["get", "width"], "line-opacity": 0.6,
      "line-color": ["match", ["get", "leg"], "in", "#2c7fb8", "#d95f0e"] } });
}

async function refresh() {
  removeLayers();
  mode.ready = false;
  if (!mode.on) { $("flows-status").textContent = ""; return; }
  try {
    if (!mode.from) {  // the last month with counts
      const pts = (await getJSON("/flows/points")).points.filter((p) => p.last_day);
      if (!pts.length) throw new Error("no flow monitoring counts are loaded");
      const last = pts.map((p) => p.last_day).sort().at(-1).slice(0, 7);
      mode.from = mode.to = last;
      $("flows-from").value = $("flows-to").value = last;
      const xs = pts.map((p) => p.lon), ys = pts.map((p) => p.lat);
      mode.bounds = [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]];
    }
  } catch (err) {
    mode.error = err.message;
    $("flows-status").textContent = `Flows: ${err.message}`;
    return;
  }
  $("flows-status").textContent = `Flow Monitoring, ${mode.from} to ${mode.to}: line width by the number of people (blue: origin -> point; orange: point -> destination)`;
  addLayers();
  mode.ready = true;
}

function init() {
  document.head.append(h("style", {}, `
    #flows-mode, #origins-mode { display: flex; align-items: center; gap: 6px; font-weight: 600; font-size: 13px; }
    #flows-range { display: flex; gap: 6px; font-size: 12px; } #flows-range input { width: 8.5em; }`));
  const box = h("input", { type: "checkbox", id: "flows-toggle" });
  const from = h("input", { type: "month", id: "flows-from", "aria-label": "First month" });
  const to = h("input", { type: "month", id: "flows-to", "aria-label": "Last month" });
  $("controls").append(h("label", { id: "flows-mode" }, box, "Flow lines (Flow Monitoring)"),
    h("div", { id: "flows-range" }, from, "–", to), h("p", { id: "flows-status", class: "muted", role: "status" }));
  const range = () => { if (from.value && to.value) { mode.from = from.value; mode.to = to.value; refresh(); } };
  from.addEventListener("change", range);
  to.addEventListener("change", range);
  box.addEventListener("change", () => { mode.on = box.checked; refresh(); });
  const attach = () => {
    const map = api.map;
    if (!map) { setTimeout(attach, 100); return; }
    map.on("styledata", () => { if (mode.on) addLayers(); if (origins.on) drawOrigins(); });
  };
  attach();
  const obox = h("input", { type: "checkbox", id: "origins-toggle" });
  $("controls").append(h("label", { id: "origins-mode", class: "flows-mode" }, obox,
    "Where IDPs come from (master list, line width by families)"));
  obox.addEventListener("change", () => { origins.on = obox.checked; drawOrigins(); });
  mode.origins = (on) => { obox.checked = on; origins.on = on; drawOrigins(); };
  mode.toggle = async (on) => { box.checked = on; mode.on = on; await refresh(); };
  mode.show = async (f, t) => { from.value = f; to.value = t; mode.from = f; mode.to = t; box.checked = true; mode.on = true; await refresh(); };
}

init();
