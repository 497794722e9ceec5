// DTM Atlas web map, fragility mode (service.fragility): a checkbox in the panel lays the
// `fragility` vector-tile layer (the stored default run of the round) over the map, with its legend
// from styles/ (via /fragility/method?f=json) and, on click, a unit panel with the dimension scores and
// the uncertainty (rank p5/p50/p95, P(high class)). It only adds to the map app.js draws: app.js
// replaces the style when the choice changes, so the layers are added again after each style change.
// In the mode the overlay has its own legend (the IDP legend is hidden) and its own hover (the
// class, index and P(high class) of the unit under the pointer); a click opens only its panel
// (app.js leaves its unit panel to the mode). Numbers are formatted in the page's language.
// window.dtmAtlas.fragility exposes its state for tests.

const $ = (id) => document.getElementById(id);
const api = window.dtmAtlas;
const { h, getJSON } = api; // app.js's helpers (the modules run after it, in page order)
const mode = (api.fragility = { on: false, round: null, legend: null, ready: null, error: null, unit: null });
const SOURCE = "fragility", FILL = "fragility-fill", HOT = "fragility-hotspot";
let tilejson = null, loading = null;

// one convention with the rest of the map: a share (0-1) shown as a percent, counts grouped, in the page's language
const lang = () => (document.documentElement.lang === "ar" ? "ar-IQ" : "en");
const pct = (v) => (v === null || v === undefined ? "–"
  : new Intl.NumberFormat(lang(), { style: "percent", maximumFractionDigits: 0 }).format(v));
const num = (v, d = 1) => (v === null || v === undefined ? "–"
  : new Intl.NumberFormat(lang(), { minimumFractionDigits: d, maximumFractionDigits: d }).format(v));
const count = (v) => (v === null || v === undefined ? "–" : new Intl.NumberFormat(lang()).format(v));

function addStyle() {
  document.head.append(h("style", {}, `
    #controls #fragility-mode { display: flex; flex-direction: row; align-items: center; gap: 6px; font-weight: 600;
      font-size: 13px; }
    #controls #fragility-mode input { margin: 0; }
    #fragility-legend ol { list-style: none; margin: 0; padding: 0; }
    #fragility-legend li { display: flex; align-items: center; gap: 8px; font-size: 13px; }
    #fragility-legend .count { margin-left: auto; color: var(--muted); font-size: 12px; }
    #fragility-unit { border-top: 1px solid var(--line); padding-top: 8px; font-size: 13px; }
    #fragility-unit table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
    #fragility-unit td { padding: 1px 3px; border-bottom: 1px solid #eee; }
    #fragility-unit td:last-child { text-align: right; }
    #fragility-unit .bar { height: 6px; background: #eee; } #fragility-unit .bar span { display: block; height: 6px; }`));
}

function fillColor(lg) {
  const pairs = lg.classes.flatMap((c) => [c.key, c.color]);
  return ["match", ["get", "class_key"], ...pairs, lg.no_data_color];
}

function addLayers() {
  const map = api.map;
  if (!mode.on || !map || !tilejson || !mode.legend || map.getLayer(FILL)) return;
  if (!map.getSource(SOURCE)) {
    map.addSource(SOURCE, { type: "vector", tiles: tilejson.tiles, minzoom: tilejson.minzoom, maxzoom: tilejson.maxzoom,
      bounds: tilejson.bounds, promoteId: "pcode" });
  }
  const before = map.getLayer("units-highlight") ? "units-highlight" : undefined;
  map.addLayer({ id: FILL, type: "fill", source: SOURCE, "source-layer": "fragility",
    paint: { "fill-color": fillColor(mode.legend), "fill-opacity": 1, "fill-outline-color": "#ffffff" } }, before);
  map.addLayer({ id: HOT, type: "line", source: SOURCE, "source-layer": "fragility",
    filter: ["==", ["get", "hotspot"], true],
    paint: { "line-color": "#252525", "line-width": 2.5, "line-dasharray": [2, 1] } }, before);
}

function removeLayers() {
  const map = api.map;
  if (!map) return;
  for (const id of [HOT, FILL]) if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource(SOURCE)) map.removeSource(SOURCE);
}

function renderLegend(lg, run) {
  const items = lg.classes.map((c) => h("li", {}, h("span", { class: "swatch", style: `background:${c.color}` }),
    `${c.label}${c.range ? ` (${c.range})` : ""}`, h("span", { class: "count" }, c.count === null ? "" : String(c.count))));
  items.push(h("li", {}, h("span", { class: "swatch", style: "background:transparent;border:2px dashed #252525" }),
    "Hotspot"));
  $("fragility-legend").replaceChildren(h("h2", {}, lg.title), h("ol", {}, items),
    h("div", { class: "muted" }, `Round ${run.round_number} · ${run.method_id} ${run.method_version} · `,
      h("a", { href: run.method_card }, "method card")));
  $("fragility-legend").hidden = false;
}

async function load(round) {
  // the method run first (computed on the server when missing or stale), then the tiles that read it
  const q = `round=${round}`;
  const card = await getJSON(`/fragility/method?f=json&${q}`);
  const tj = await getJSON(`/tiles/fragility.json?${q}`);
  return { card, tj };
}

async function refresh() {
  const round = api.state.round;
  showIdpLegend(!mode.on);
  if (!mode.on) {
    removeLayers();
    $("fragility-legend").hidden = true;
    $("fragility-unit").hidden = true;
    return;
  }
  if (round === null || round === undefined) return;
  if (round === mode.round && tilejson) { addLayers(); return; }
  mode.round = round;
  mode.error = null;
  $("fragility-status").textContent = "Loading the fragility of the round…";
  const pending = (loading = load(round));
  let got;
  try {
    got = await pending;
  } catch (err) {
    if (pending !== loading) return;
    mode.error = err.message;
    $("fragility-status").textContent = `Fragility: ${err.message}`;
    removeLayers();
    tilejson = null;
    return;
  }
  if (pending !== loading) return;
  $("fragility-status").textContent = "";
  removeLayers();
  tilejson = got.tj;
  mode.legend = got.card.legend;
  renderLegend(got.card.legend, got.card.run);
  addLayers();
  mode.ready = /^\d+$/.test(String(round)) ? Number(round) : round; // DTM's number, or a date
}

async function showUnit(pcode) {
  const panel = $("fragility-unit");
  panel.hidden = false;
  panel.replaceChildren(h("div", { class: "muted" }, "Loading…"));
  let u;
  try {
    u = await getJSON(`/fragility/units/${encodeURIComponent(pcode)}?round=${mode.round}`);
  } catch (err) {
    panel.textContent = err.message;
    return;
  }
  mode.unit = u;
  const cls = mode.legend.classes.find((c) => c.key === u.class_key);
  const dims = Object.entries(u.dimensions || {}).map(([k, v]) => h("tr", {}, h("td", {}, u.dimension_labels[k] || k),
    h("td", {}, h("div", { class: "bar" }, h("span", { style: `width:${v ?? 0}%;background:${cls ? cls.color : "#999"}` }))),
    h("td", {}, num(v))));
  panel.replaceChildren(
    h("div", { class: "names" }, h("span", { class: "en", lang: "en" }, u.name_en || u.pcode),
      u.name_ar ? h("span", { class: "ar", lang: "ar", dir: "rtl" }, u.name_ar) : null),
    h("div", { class: "pcode" }, `${u.pcode} · fragility`),
    h("p", {}, h("span", { class: "swatch", style: `background:${cls ? cls.color : mode.legend.no_data_color}` }), " ",
      h("strong", {}, u.class_label), u.index === null ? "" : ` · index ${num(u.index)}`,
      u.hotspot ? h("strong", {}, " · hotspot") : ""),
    h("h2", {}, "Dimension scores (0-100)"), h("table", {}, dims),
    h("h2", {}, "Uncertainty"),
    h("table", {},
      h("tr", {}, h("td", {}, "Rank (1 = most fragile), p5 / p50 / p95"),
        h("td", {}, `${num(u.rank_p5, 0)} / ${num(u.rank_p50, 0)} / ${num(u.rank_p95, 0)} of ${u.ranked_units}`)),
      h("tr", {}, h("td", {}, "P(high class)"), h("td", {}, pct(u.p_high))),
      h("tr", {}, h("td", {}, "Completeness"), h("td", {}, pct(u.completeness))),
      h("tr", {}, h("td", {}, "IDPs / returnees"), h("td", {}, `${count(u.idps)} / ${count(u.returnees)}`))));
}

// the mode's own hover: what the overlay shows of the unit under the pointer (after app.js's, which it replaces)
function onHover(e) {
  const f = e.features && e.features[0];
  if (!mode.on || !f || !mode.legend) return;
  setTimeout(() => {
    const p = f.properties, tip = $("tooltip");
    const cls = mode.legend.classes.find((c) => c.key === p.class_key);
    tip.replaceChildren(
      h("div", { class: "names" }, h("span", { class: "en", lang: "en" }, p.name_en || p.pcode),
        p.name_ar ? h("span", { class: "ar", lang: "ar", dir: "rtl" }, p.name_ar) : null),
      h("div", { class: "pcode" }, `${p.pcode} · fragility`),
      h("dl", { class: "figures" }, h("dt", {}, "Index (0-100)"), h("dd", {}, num(p.index)),
        h("dt", {}, "P(high class)"), h("dd", {}, pct(p.p_high))),
      h("div", { class: "pcode", "data-fragility": p.class_key },
        h("span", { class: "swatch", style: `background:${cls ? cls.color : mode.legend.no_data_color}` }), " ",
        cls ? cls.label : p.class_key, p.hotspot === true || p.hotspot === "true" ? " · hotspot" : ""));
    tip.hidden = false;
  }, 0);
}

function showIdpLegend(show) {
  $("legend").hidden = !show;
}

function init() {
  addStyle();
  const box = h("input", { type: "checkbox", id: "fragility-toggle" });
  $("controls").append(h("label", { id: "fragility-mode" }, box, "Fragility overlay (sub-districts)"),
    h("p", { id: "fragility-status", class: "muted", role: "status" }));
  $("legend").after(h("section", { id: "fragility-legend", "aria-label": "Fragility legend", hidden: "" }),
    h("section", { id: "fragility-unit", "aria-live": "polite", hidden: "" }));
  box.addEventListener("change", () => { mode.on = box.checked; refresh(); });
  const attach = () => {
    const map = api.map;
    if (!map) { setTimeout(attach, 100); return; }
    map.on("styledata", () => { if (mode.on) addLayers(); });
    map.on("click", FILL, (e) => e.features && e.features[0] && showUnit(e.features[0].properties.pcode));
    map.on("mousemove", FILL, onHover);
    window.addEventListener("hashchange", () => refresh());
    document.getElementById("round").addEventListener("change", () => setTimeout(refresh, 0));
  };
  attach();
  mode.toggle = async (on) => { box.checked = on; mode.on = on; await refresh(); };
}

init();
