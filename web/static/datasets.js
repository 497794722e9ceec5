// DTM Atlas web map, indicator datasets (service.indicators: site and location assessments, indices).
// A picker in the panel lists every dataset and indicator the viewer may see (GET /datasets: the
// catalogue's English and Arabic labels, the page's language). The chosen indicator is drawn per
// admin unit from /choropleth/{level}.geojson?dataset=&indicator= (classes and legend from the
// server; a public answer has its small cells suppressed, and the legend says so), and the sites or
// locations as circles sized by the indicator from the registry's tile layer `dataset-points`
// (/tiles/dataset-points.json?dataset=&column=). Both have a legend and a hover card of their own.
// Choosing a dataset of another country switches the map to that country (the URL hash app.js reads).
// It only adds to the map app.js draws: app.js replaces the style when its choice changes, so the
// layers are added again after each style change. The mode follows the page's language (html[lang]).
// window.dtmAtlas.datasets exposes its state for tests (show(id, indicator, level), clear()).

const $ = (id) => document.getElementById(id);
const api = window.dtmAtlas;
const { h, getJSON } = api; // app.js's helpers (the modules run after it, in page order)
const mode = (api.datasets = { list: null, id: null, indicator: null, level: 1, detail: null, choropleth: null,
  tilejson: null, ready: false, error: null });
const UNITS = "datasets-units", POINTS = "datasets-points";
const FILL = "datasets-fill", LINE = "datasets-line", CIRCLE = "datasets-circle";
const COLORS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];
const NONE = "#f0f0f0", SUPPRESSED = "#bdbdbd";
const TEXT = {
  en: { title: "Assessments (sites, locations, indices)", none: "None", indicator: "Indicator", level: "Admin level",
    levels: { 1: "Admin 1", 2: "Admin 2", 3: "Admin 3" }, noData: "no data", suppressed: "suppressed (small cell)",
    sites: "Sites or locations (size: value)", national: "National", unassigned: "Not placed in a unit", value: "Value",
    loading: "Loading the dataset…" },
  ar: { title: "التقييمات (المواقع، المناطق، المؤشرات)", none: "لا شيء", indicator: "المؤشر", level: "المستوى الإداري",
    levels: { 1: "المستوى 1", 2: "المستوى 2", 3: "المستوى 3" }, noData: "لا بيانات", suppressed: "محجوب (خلية صغيرة)",
    sites: "المواقع (الحجم: القيمة)", national: "المجموع الوطني", unassigned: "غير منسوب إلى وحدة", value: "القيمة",
    loading: "جارٍ تحميل البيانات…" },
};
const lang = () => (document.documentElement.lang === "ar" ? "ar" : "en");
const t = (k) => TEXT[lang()][k];
const label = (c) => (lang() === "ar" ? c.label_ar || c.label_en : c.label_en || c.label_ar) || c.id;
const fmt = (v) => (v === null || v === undefined ? "–"
  : new Intl.NumberFormat(lang() === "ar" ? "ar" : "en-US", { maximumFractionDigits: 2 }).format(v));

const current = () => (mode.list || []).find((d) => d.id === mode.id);
const indicatorOf = () => ((current() || {}).indicators || []).find((i) => i.id === mode.indicator);
const datasetName = (d) => {  // "NGA · NGA site assessment, round R39" (the round once)
  const title = d.title || d.component;
  return `${d.country} · ${title}${d.round_label && !title.includes(d.round_label) ? ` · ${d.round_label}` : ""}`;
};

function fillColor() {
  return ["case", ["boolean", ["get", "suppressed"], false], SUPPRESSED,
    ["step", ["coalesce", ["get", "class"], -1], NONE, ...COLORS.flatMap((c, i) => [i, c])]];
}

function reference() {  // the value drawn at 5 px: a typical site's (the national mean per site or location)
  const lg = mode.choropleth.doc.legend, d = current();
  if (typeof lg.national !== "number" || lg.national <= 0) return null;
  return ["sum", "count"].includes(lg.aggregation) ? lg.national / Math.max(1, d.observations) : lg.national;
}

function radius() {  // circle area proportional to the value: 5 px at the reference value, 24 px at most
  const ref = reference();
  if (!ref) return 4;
  return ["case", ["==", ["typeof", ["get", "value"]], "number"],
    ["min", 24, ["max", 1.5, ["*", 5, ["sqrt", ["/", ["max", 0, ["get", "value"]], ref]]]]], 3];
}

function addLayers() {  // each source and layer that is missing (a style change may remove some)
  const map = api.map;
  if (!map || !mode.choropleth || !map.isStyleLoaded()) return;
  if (!map.getSource(UNITS)) map.addSource(UNITS, { type: "geojson", data: mode.choropleth.doc, promoteId: "pcode" });
  const below = map.getLayer(CIRCLE) ? CIRCLE : undefined;
  if (!map.getLayer(FILL)) map.addLayer({ id: FILL, type: "fill", source: UNITS, paint: { "fill-color": fillColor(), "fill-opacity": 0.85 } }, below);
  if (!map.getLayer(LINE)) map.addLayer({ id: LINE, type: "line", source: UNITS, paint: { "line-color": "#ffffff", "line-width": 0.7 } }, below);
  if (!mode.tilejson) return;
  if (!map.getSource(POINTS)) {
    map.addSource(POINTS, { type: "vector", tiles: mode.tilejson.tiles, minzoom: mode.tilejson.minzoom,
      maxzoom: mode.tilejson.maxzoom });
  }
  if (!map.getLayer(CIRCLE)) {
    map.addLayer({ id: CIRCLE, type: "circle", source: POINTS, "source-layer": "dataset-points",
      paint: { "circle-radius": radius(), "circle-color": "#e6550d", "circle-opacity": 0.75,
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 0.8 } });
  }
}

function removeLayers() {
  const map = api.map;
  if (!map) return;
  for (const id of [CIRCLE, LINE, FILL]) if (map.getLayer(id)) map.removeLayer(id);
  for (const id of [POINTS, UNITS]) if (map.getSource(id)) map.removeSource(id);
}

function classLabels(breaks) {
  return breaks.map((b, i) => (i === 0 ? `≤ ${fmt(b)}` : `${fmt(breaks[i - 1])} – ${fmt(b)}`));
}

function renderLegend() {
  const box = $("datasets-legend");
  const c = mode.choropleth;
  if (!c) { box.replaceChildren(); box.hidden = true; return; }
  const lg = c.doc.legend;
  const items = classLabels(lg.breaks || []).map((l, i) =>
    h("li", {}, h("span", { class: "swatch", style: `background:${COLORS[Math.min(i, COLORS.length - 1)]}` }), h("span", { dir: "ltr" }, l)));
  items.push(h("li", {}, h("span", { class: "swatch", style: `background:${NONE}` }), t("noData")));
  if (lg.disclosure) items.push(h("li", {}, h("span", { class: "swatch", style: `background:${SUPPRESSED}` }), t("suppressed")));
  const d = current();
  const rows = [h("h2", {}, label({ id: lg.indicator, label_en: lg.label_en, label_ar: lg.label_ar })), h("ol", {}, items)];
  if (mode.tilejson) {
    const ref = reference();
    rows.push(h("div", { class: "points" }, h("span", { class: "dot" }), t("sites"), ref ? h("span", { dir: "ltr" }, ` ● = ${fmt(ref)}`) : null));
  }
  rows.push(h("div", { class: "meta" }, `${datasetName(d)} · ${t("levels")[mode.level]}`));
  if (lg.national !== null && lg.national !== undefined) rows.push(h("div", { class: "meta" }, `${t("national")}: ${fmt(lg.national)}`));
  if (lg.unassigned && lg.unassigned.value) rows.push(h("div", { class: "meta" }, `${t("unassigned")}: ${fmt(lg.unassigned.value)}`));
  if (lg.disclosure) rows.push(h("div", { class: "meta rule" }, lg.disclosure.rule));
  box.replaceChildren(...rows);
  box.hidden = false;
}

function fillPicker() {  // the options in the page's language
  const sel = $("datasets-pick"), ind = $("datasets-indicator"), lvl = $("datasets-level");
  $("datasets-title").textContent = t("title");
  sel.replaceChildren(h("option", { value: "" }, t("none")),
    ...(mode.list || []).map((d) => h("option", { value: String(d.id) }, datasetName(d))));
  sel.value = mode.id ? String(mode.id) : "";
  const d = current();
  ind.replaceChildren(...(d ? d.indicators : []).map((i) => h("option", { value: i.id }, label(i))));
  ind.hidden = !d;
  if (d) ind.value = mode.indicator;
  const levels = (mode.detail && mode.detail.levels) || [];
  lvl.replaceChildren(...levels.map((l) => h("option", { value: String(l) }, t("levels")[l] || `Admin ${l}`)));
  lvl.hidden = !d;
  if (d) lvl.value = String(mode.level);
  ind.setAttribute("aria-label", t("indicator"));
  lvl.setAttribute("aria-label", t("level"));
}

const setStatus = (text) => { $("datasets-status").textContent = text || ""; };

function waitForCountry(country) {  // app.js has drawn the dataset's country (its style is in place)
  return new Promise((resolve) => {
    const check = () => {
      if (api.state.country === country && api.idle && api.map && api.map.isStyleLoaded()) resolve();
      else setTimeout(check, 100);
    };
    check();
  });
}

async function refresh() {
  removeLayers();
  mode.ready = false;
  mode.error = null;
  mode.choropleth = null;
  mode.tilejson = null;
  $("datasets-tip").hidden = true;
  const d = current();
  if (!d) { fillPicker(); renderLegend(); setStatus(""); return; }
  setStatus(t("loading"));
  const want = `${mode.id}|${mode.indicator}|${mode.level}`;
  try {
    if (!mode.detail || mode.detail.id !== d.id) mode.detail = await getJSON(`/datasets/${d.id}`);
    if (!mode.detail.levels.includes(mode.level)) mode.level = mode.detail.levels[0];
    fillPicker();
    if (api.state.country !== d.country) {  // the dataset's country: app.js reads the hash
      const q = new URLSearchParams(location.hash.slice(1));
      q.set("country", d.country);
      location.hash = q.toString();
    }
    const q = `dataset=${d.id}&indicator=${encodeURIComponent(mode.indicator)}`;
    const [doc, tj] = await Promise.all([getJSON(`/choropleth/${mode.level}.geojson?${q}`),
      getJSON(`/tiles/dataset-points.json?dataset=${d.id}&column=${encodeURIComponent(mode.indicator)}`)
        .catch(() => getJSON(`/tiles/dataset-points.json?dataset=${d.id}`)).catch(() => null)]);
    await waitForCountry(d.country);
    if (want !== `${mode.id}|${mode.indicator}|${mode.level}`) return;  // a newer choice was made meanwhile
    mode.choropleth = { doc };
    mode.tilejson = tj;
  } catch (err) {
    mode.error = err.message;
    setStatus(err.message);
    return;
  }
  renderLegend();
  addLayers();
  if (tjBounds()) api.map.fitBounds(tjBounds(), { padding: 24, animate: false });
  setStatus("");
  mode.ready = true;
}

function tjBounds() {  // the bounds of the units with data, else of the dataset's sites
  const fs = mode.choropleth.doc.features.filter((f) => f.properties.value !== null && f.geometry);
  let w = 180, s = 90, e = -180, n = -90;
  const visit = (c) => { if (typeof c[0] === "number") { w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]); } else c.forEach(visit); };
  fs.forEach((f) => visit(f.geometry.coordinates));
  if (w <= e) return [[w, s], [e, n]];
  const b = mode.tilejson && mode.tilejson.bounds;
  return b ? [[b[0], b[1]], [b[2], b[3]]] : null;
}

function showTip(e, kind) {
  const f = e.features && e.features[0];
  if (!f) return;
  const p = f.properties;
  const tip = $("datasets-tip");
  const lg = mode.choropleth.doc.legend;
  const name = kind === "unit" ? (lang() === "ar" ? p.name_ar || p.name_en : p.name_en || p.name_ar) || p.pcode : p.name || p.obs_id;
  const value = kind === "unit" && p.suppressed ? t("suppressed") : fmt(p.value === undefined ? null : p.value);
  tip.replaceChildren(h("strong", {}, name), h("div", { class: "pcode" }, kind === "unit" ? p.pcode : [p.obs_id, p.adm2 || p.adm1].filter(Boolean).join(" · ")),
    h("div", {}, `${label({ id: lg.indicator, label_en: lg.label_en, label_ar: lg.label_ar })}: `, h("span", { dir: "ltr" }, value)));
  tip.hidden = false;
  tip.style.transform = `translate(${e.point.x + 14}px, ${e.point.y + 14}px)`;
  mode.hovered = { kind, name, value };
}

function hideTip() { $("datasets-tip").hidden = true; }

function init() {
  mode.colors = { classes: COLORS, none: NONE, suppressed: SUPPRESSED };
  document.head.append(h("style", {}, `
    #datasets-mode { display: grid; gap: 4px; font-size: 13px; border-top: 1px solid #ddd; padding-top: 6px; }
    #datasets-mode strong { font-size: 13px; } #datasets-mode select { font-size: 12px; max-width: 100%; }
    #datasets-legend ol { list-style: none; margin: 0; padding: 0; }
    #datasets-legend li { display: flex; align-items: center; gap: 8px; font-size: 13px; }
    #datasets-legend .dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%; background: #e6550d;
      margin-inline-end: 8px; vertical-align: middle; }
    #datasets-legend .points { font-size: 13px; margin-top: 4px; } #datasets-legend .meta { font-size: 12px; color: #666; }
    #datasets-tip { position: absolute; z-index: 4; pointer-events: none; background: rgba(255,255,255,.96);
      border: 1px solid #ccc; border-radius: 4px; padding: 4px 8px; font-size: 12px; left: 0; top: 0; }`));
  const pick = h("select", { id: "datasets-pick", "aria-label": "Dataset" });
  const ind = h("select", { id: "datasets-indicator", hidden: "" });
  const lvl = h("select", { id: "datasets-level", hidden: "" });
  $("controls").append(h("div", { id: "datasets-mode" }, h("strong", { id: "datasets-title" }), pick, ind, lvl,
    h("p", { id: "datasets-status", class: "muted", role: "status" })));
  $("legends").append(h("section", { id: "datasets-legend", "aria-label": "Dataset legend", hidden: "" }));
  $("map").append(h("div", { id: "datasets-tip", role: "tooltip", hidden: "" }));
  pick.addEventListener("change", () => {
    mode.id = pick.value ? Number(pick.value) : null;
    const d = current();
    mode.indicator = d ? (d.indicators.find((i) => i.id === "individuals") || d.indicators[0] || {}).id : null;
    refresh();
  });
  ind.addEventListener("change", () => { mode.indicator = ind.value; refresh(); });
  lvl.addEventListener("change", () => { mode.level = Number(lvl.value); refresh(); });
  new MutationObserver(() => { fillPicker(); renderLegend(); }).observe(document.documentElement,
    { attributes: true, attributeFilter: ["lang"] });
  const attach = () => {
    const map = api.map;
    if (!map) { setTimeout(attach, 100); return; }
    map.on("styledata", () => {
      if (!mode.choropleth) return;
      if (current() && api.state.country !== current().country) { mode.id = null; refresh(); return; }  // another country chosen
      addLayers();
    });
    map.on("mousemove", FILL, (e) => { if (!map.queryRenderedFeatures(e.point, { layers: map.getLayer(CIRCLE) ? [CIRCLE] : [] }).length) showTip(e, "unit"); });
    map.on("mousemove", CIRCLE, (e) => showTip(e, "site"));
    map.on("mouseleave", FILL, hideTip);
    map.on("mouseleave", CIRCLE, hideTip);
  };
  attach();
  getJSON("/datasets").then((body) => { mode.list = body.datasets; fillPicker(); })
    .catch((err) => { mode.list = []; mode.error = err.message; fillPicker(); });
  mode.show = async (id, indicator, level) => {
    mode.id = Number(id);
    mode.indicator = indicator;
    if (level) mode.level = Number(level);
    await refresh();
  };
  mode.clear = async () => { mode.id = null; await refresh(); };
}

init();
