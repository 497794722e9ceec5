// DTM Atlas web map, events mode (service.events, Emergency Tracking): a checkbox in the panel lays
// a crisis's figures per admin unit over the map for one day, from the registry's tile layers
// `events-governorates|districts|subdistricts` (/tiles/events-<level>.json?crisis=&date=). A slider
// and a date picker choose the day (onset .. last day); the indicator is one of the tiles' fields
// (since the onset, the last 24 hours, the last 7 days; returnees). Classes are fixed (1, 100,
// 1,000, 10,000, 100,000 individuals) so that days and crises compare. A click on a unit shows its
// figures of the day. It only adds to the map app.js draws: app.js replaces the style when the
// choice changes, so the layers are added again after each style change.
// window.dtmAtlas.events exposes its state for tests (show(crisis, date, level, indicator), toggle(on)).

const $ = (id) => document.getElementById(id);
const api = window.dtmAtlas;
const { h, getJSON } = api; // app.js's helpers (the modules run after it, in page order)
const mode = (api.events = { on: false, crisis: null, level: 2, indicator: "cumulative_idp_ind", date: null,
  days: [], ready: false, error: null, tilejson: null, unit: null });
const SOURCE = "events", FILL = "events-fill", LINE = "events-line";
const LEVELS = { 1: "governorates", 2: "districts", 3: "subdistricts" };
const INDICATORS = {
  cumulative_idp_ind: "IDPs since the onset",
  day_idp_ind: "IDPs displaced that day (last 24 hours)",
  rolling7_idp_ind: "IDPs displaced in the last 7 days",
  cumulative_ret_ind: "Returnees since the onset",
};
const BREAKS = [1, 100, 1000, 10000, 100000];  // individuals: class i holds [BREAKS[i], BREAKS[i + 1])
const COLORS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
const ZERO = "#f0f0f0";
let timer = null;

const fmt = (n) => Number(n).toLocaleString("en-US");

function fillColor() {
  const steps = BREAKS.flatMap((b, i) => (i === 0 ? [] : [b, COLORS[i]]));
  return ["step", ["coalesce", ["get", mode.indicator], 0], ZERO, BREAKS[0], COLORS[0], ...steps];
}

function classOf(v) {  // the legend's class of a value (-1: none), as the map's step expression
  let c = -1;
  BREAKS.forEach((b, i) => { if (v >= b) c = i; });
  return c;
}

function tileURL() {
  const u = mode.tilejson.tiles[0];
  return u.replace(/([?&])date=[^&]*/, `$1date=${mode.date}`);
}

function addLayers() {
  const map = api.map;
  if (!mode.on || !map || !mode.tilejson || !mode.date || map.getLayer(FILL)) return;
  if (!map.getSource(SOURCE)) {
    map.addSource(SOURCE, { type: "vector", tiles: [tileURL()], minzoom: mode.tilejson.minzoom,
      maxzoom: mode.tilejson.maxzoom, bounds: mode.tilejson.bounds, promoteId: "pcode" });
  }
  const layer = `events-${LEVELS[mode.level]}`;
  const before = map.getLayer("units-highlight") ? "units-highlight" : undefined;
  map.addLayer({ id: FILL, type: "fill", source: SOURCE, "source-layer": layer,
    paint: { "fill-color": fillColor(), "fill-opacity": 0.9 } }, before);
  map.addLayer({ id: LINE, type: "line", source: SOURCE, "source-layer": layer,
    paint: { "line-color": "#ffffff", "line-width": 0.6 } }, before);
}

function removeLayers() {
  const map = api.map;
  if (!map) return;
  for (const id of [LINE, FILL]) if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource(SOURCE)) map.removeSource(SOURCE);
}

function renderLegend() {
  const labels = BREAKS.map((b, i) => (i + 1 < BREAKS.length ? `${fmt(b)} – ${fmt(BREAKS[i + 1] - 1)}` : `${fmt(b)} or more`));
  const items = [h("li", {}, h("span", { class: "swatch", style: `background:${ZERO}` }), "none")].concat(
    labels.map((l, i) => h("li", {}, h("span", { class: "swatch", style: `background:${COLORS[i]}` }), l)));
  const c = mode.crises.find((x) => x.crisis_id === mode.crisis) || {};
  $("events-legend").replaceChildren(h("h2", {}, INDICATORS[mode.indicator]), h("ol", {}, items),
    h("div", { class: "muted" }, `${c.name || mode.crisis}${c.synthetic ? " (synthetic)" : ""} · ${mode.date} · individuals per ${LEVELS[mode.level].replace(/s$/, "")}`));
  $("events-legend").hidden = false;
}

function setStatus(text) { $("events-status").textContent = text; }

async function loadCrisis() {  // the crisis's days (onset .. last day) and the level's TileJSON
  const c = mode.crises.find((x) => x.crisis_id === mode.crisis);
  if (!c || !c.onset) throw new Error(`crisis ${mode.crisis} has no days imported`);
  const days = [];
  for (let d = new Date(`${c.onset}T00:00:00Z`); d <= new Date(`${c.last_day}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
    days.push(d.toISOString().slice(0, 10));
  }
  mode.days = days;
  if (!mode.date || !days.includes(mode.date)) mode.date = days.at(-1);
  const slider = $("events-slider"), picker = $("events-date");
  slider.max = String(days.length - 1);
  slider.value = String(days.indexOf(mode.date));
  picker.min = days[0]; picker.max = days.at(-1); picker.value = mode.date;
  const q = `crisis=${encodeURIComponent(mode.crisis)}&date=${mode.date}`;
  mode.tilejson = await getJSON(`/tiles/events-${LEVELS[mode.level]}.json?${q}`);
}

async function refresh(reload = true) {
  removeLayers();
  mode.ready = false;
  mode.error = null;
  if (!mode.on) { setStatus(""); $("events-legend").hidden = true; $("events-range").hidden = true; return; }
  $("events-range").hidden = false;
  try {
    if (!mode.crises) {
      mode.crises = (await getJSON("/events")).crises;
      if (!mode.crises.length) throw new Error("no Emergency Tracking crisis is loaded");
      $("events-crisis").replaceChildren(...mode.crises.map((c) =>
        h("option", { value: c.crisis_id }, `${c.name || c.crisis_id}${c.synthetic ? " (synthetic)" : ""}`)));
      if (!mode.crisis) mode.crisis = mode.crises[0].crisis_id;
      $("events-crisis").value = mode.crisis;
      mode.fit = true;  // fit the map to the crisis's boundaries once (below)
    }
    if (reload || !mode.tilejson) await loadCrisis();
  } catch (err) {
    mode.error = err.message;
    setStatus(`Events: ${err.message}`);
    return;
  }
  setStatus(`Emergency Tracking, ${mode.date} (day ${mode.days.indexOf(mode.date) + 1} of ${mode.days.length})`);
  renderLegend();
  addLayers();
  if (mode.fit && mode.tilejson.bounds && api.map) {
    const b = mode.tilejson.bounds;
    api.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, animate: false });
    mode.fit = null;
  }
  mode.ready = true;
}

function setDate(date) {  // a day of the slider or the picker: new tiles, same layers
  if (!mode.days.includes(date)) return;
  mode.date = date;
  $("events-slider").value = String(mode.days.indexOf(date));
  $("events-date").value = date;
  const src = api.map && api.map.getSource(SOURCE);
  if (src && src.setTiles) {
    mode.ready = false;
    src.setTiles([tileURL()]);
    setStatus(`Emergency Tracking, ${mode.date} (day ${mode.days.indexOf(mode.date) + 1} of ${mode.days.length})`);
    renderLegend();
    mode.ready = true;
  } else {
    refresh(false);
  }
}

async function showUnit(e) {
  const f = e.features && e.features[0];
  if (!f) return;
  const p = f.properties;
  mode.unit = p;
  $("events-unit").replaceChildren(h("strong", {}, p.name_en || p.pcode), ` (${p.pcode}), ${mode.date}`,
    h("table", {}, Object.entries(INDICATORS).map(([k, label]) => h("tr", {}, h("td", {}, label), h("td", {}, fmt(p[k] || 0))))),
    h("a", { href: `/events/${encodeURIComponent(mode.crisis)}/series/${encodeURIComponent(p.pcode)}?f=csv` }, "the unit's days (CSV)"));
  $("events-unit").hidden = false;
}

function init() {
  document.head.append(h("style", {}, `
    #events-mode { display: flex; align-items: center; gap: 6px; font-weight: 600; font-size: 13px; }
    #events-range { display: grid; gap: 4px; font-size: 12px; } #events-range select, #events-range input { font-size: 12px; }
    #events-range .row { display: flex; gap: 6px; align-items: center; } #events-slider { flex: 1; }
    #events-legend ol { list-style: none; margin: 0; padding: 0; }
    #events-legend li { display: flex; align-items: center; gap: 8px; font-size: 13px; }
    #events-unit { font-size: 13px; } #events-unit table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
    #events-unit td:last-child { text-align: right; }`));
  const box = h("input", { type: "checkbox", id: "events-toggle" });
  const crisis = h("select", { id: "events-crisis", "aria-label": "Crisis" });
  const level = h("select", { id: "events-level", "aria-label": "Admin level" },
    Object.entries(LEVELS).map(([k, v]) => h("option", { value: k }, v)));
  level.value = String(mode.level);
  const indicator = h("select", { id: "events-indicator", "aria-label": "Indicator" },
    Object.entries(INDICATORS).map(([k, v]) => h("option", { value: k }, v)));
  const slider = h("input", { type: "range", id: "events-slider", min: "0", max: "0", step: "1", value: "0", "aria-label": "Day" });
  const picker = h("input", { type: "date", id: "events-date", "aria-label": "Day" });
  $("controls").append(h("label", { id: "events-mode" }, box, "Events by day (Emergency Tracking)"),
    h("div", { id: "events-range", hidden: "" }, h("div", { class: "row" }, crisis, level), indicator,
      h("div", { class: "row" }, slider, picker)),
    h("p", { id: "events-status", class: "muted", role: "status" }),
    h("section", { id: "events-legend", "aria-label": "Events legend", hidden: "" }),
    h("section", { id: "events-unit", "aria-live": "polite", hidden: "" }));
  box.addEventListener("change", () => { mode.on = box.checked; refresh(); });
  crisis.addEventListener("change", () => { mode.crisis = crisis.value; mode.date = null; refresh(); });
  level.addEventListener("change", () => { mode.level = Number(level.value); refresh(); });
  indicator.addEventListener("change", () => {
    mode.indicator = indicator.value;
    if (api.map && api.map.getLayer(FILL)) api.map.setPaintProperty(FILL, "fill-color", fillColor());
    renderLegend();
  });
  slider.addEventListener("input", () => {  // dragging: new tiles once the thumb rests 150 ms
    clearTimeout(timer);
    const d = mode.days[Number(slider.value)];
    picker.value = d;
    timer = setTimeout(() => setDate(d), 150);
  });
  picker.addEventListener("change", () => setDate(picker.value));
  const attach = () => {
    const map = api.map;
    if (!map) { setTimeout(attach, 100); return; }
    map.on("styledata", () => { if (mode.on) addLayers(); });
    map.on("click", FILL, showUnit);
  };
  attach();
  mode.classOf = classOf;
  mode.colors = COLORS;
  mode.toggle = async (on) => { box.checked = on; mode.on = on; await refresh(); };
  mode.show = async (c, date, lvl, ind) => {
    if (c) mode.crisis = c;
    if (lvl) { mode.level = Number(lvl); level.value = String(lvl); }
    if (ind) { mode.indicator = ind; indicator.value = ind; }
    mode.date = date || null;
    box.checked = true; mode.on = true;
    if (mode.crises) crisis.value = mode.crisis;
    await refresh();
  };
  mode.setDate = setDate;
}

init();
