// DTM Atlas web map: MapLibre GL JS over the service's own data, no basemap and no request outside
// this server. The map draws geometry-only tiles of the chosen country's boundary set
// (/webmap/geometry/..., immutable per boundary release) and colours them from one compact JSON of
// the round's figures per level (/webmap/figures/{level}.json), joined in the browser by feature
// state (promoteId = pcode): a round step fetches that one small answer and no tile.
// State lives in the URL hash (#country=..&population=idp&round=120&indicator=individuals&level=2&lang=en,
// plus &classes= when not the default fixed breaks: the same classes in every round while the slider plays).
// Under the units: the service's own basemap (/basemap.json: Natural Earth sea, land, lakes, rivers,
// neighbouring countries and places), so nothing is asked of another server.
// window.dtmAtlas exposes the map, the state, the legend and a render counter for tests.
import { AttributionControl, Map as MapLibreMap, NavigationControl, ScaleControl, getRTLTextPluginStatus, setRTLTextPlugin } from "maplibre-gl";

const LEVELS = { 1: "governorates", 2: "districts", 3: "subdistricts" };
const POPULATIONS = ["idp", "returnee"];
const INDICATORS = ["individuals", "published", "families", "change", "change_12m", "share"];
const CLASSES = ["fixed", "quantile", "jenks", "equal"]; // styles.classify.CLASSES; fixed: the default
// basemap colours: quiet, so the choropleth stays the figure
const SEA = "#d5e3ee", LAND = "#efede8", NEIGHBOUR = "#e6e3dc", BORDER = "#a9a59c", WATER_LINE = "#9dbad2";
const PLACE = "#4d4d4d";
const SERIES_COLOR = { idp: "#993404", returnee: "#253494" };
// map furniture, as in styles/palette.py
const BACKGROUND = "#f4f4f2", OUTLINE = "#ffffff", PARENT_OUTLINE = "#4d4d4d", HIGHLIGHT = "#252525";
const DIVERGING_OUTLINE = "#b0b0b0", LABEL = "#252525", LABEL_HALO = "#ffffff";
const LABEL_FONT = "Noto Sans Regular"; // built from Noto Sans + Noto Sans Arabic (web/build-glyphs.js)
const LABEL_MINZOOM = { 1: 3, 2: 6, 3: 7.5 };
const PLAY_PAUSE_MS = 700; // how long a round stays on screen while playing, once drawn

const TEXT = {
  en: {
    intro: "People displaced (IDPs) and returnees per admin unit, from IOM DTM master lists.",
    country: "Country", population: "Population", round: "Round", indicator: "Indicator", level: "Admin level",
    idp: "IDPs", returnee: "Returnees", individuals: "Individuals", families: "Families",
    change: "Change since previous round", share: "Share of national total",
    change_12m: "Change over 12 months", published: "Individuals as DTM publishes them",
    level1: "Governorate", level2: "District", level3: "Sub-district",
    plural1: "governorates", plural2: "districts", plural3: "sub-districts",
    hint: "Hover over a unit for its figures; click it for its whole history.",
    api: "API", rounds: "Rounds", play: "Play through the rounds", pause: "Pause",
    noData: "No data", loading: "Loading…", roundN: (n) => `Round ${n}`, classes: "classes",
    history: "Whole history (individuals)", national: "National trend (individuals)", date: "Date",
    close: "Close", noFigures: "No figures for this unit in any round.", noRound: "No round has been imported yet for this country: load a master list (POST /rounds or `dtm-atlas`), then reload.",
    other: "العربية", otherTitle: "عرض الخريطة بالعربية", title: (c) => `DTM Atlas: ${c}`,
    mapOf: (c) => `Map of ${c}`,
    classesLabel: "Classes", fixed: "Fixed (whole history)", quantile: "Quantiles of the round",
    jenks: "Natural breaks of the round", equal: "Equal intervals of the round",
    classesMeta: { fixed: "fixed breaks, all rounds", quantile: "quantiles", jenks: "natural breaks", equal: "equal intervals" },
    searchPlaceholder: "Find a place: name or P-code", noMatch: "No unit matches.", share: "Share this view",
    download: "Download", copied: "Link copied.", copyFailed: (u) => `Copy this link: ${u}`,
    togglePanel: "Show or hide the panel", badCountry: (c, known) => `No country ${c} here; countries: ${known}.`,
    basemapAttribution: "Basemap: Natural Earth",
  },
  ar: {
    intro: "النازحون والعائدون في كل وحدة إدارية، من قوائم مصفوفة تتبع النزوح (DTM) للمنظمة الدولية للهجرة.",
    country: "البلد", population: "الفئة", round: "الجولة", indicator: "المؤشر", level: "المستوى الإداري",
    idp: "النازحون", returnee: "العائدون", individuals: "الأفراد", families: "الأسر",
    change: "التغير منذ الجولة السابقة", share: "النسبة من المجموع الوطني",
    change_12m: "التغير خلال 12 شهراً", published: "الأفراد كما تنشرهم DTM",
    level1: "محافظة", level2: "قضاء", level3: "ناحية",
    plural1: "المحافظات", plural2: "الأقضية", plural3: "النواحي",
    hint: "مرّر المؤشر فوق وحدة لرؤية أرقامها؛ انقر عليها لرؤية تاريخها كاملاً.",
    api: "واجهة البرمجة", rounds: "الجولات", play: "تشغيل الجولات", pause: "إيقاف مؤقت",
    noData: "لا بيانات", loading: "جارٍ التحميل…", roundN: (n) => `الجولة ${n}`, classes: "الفئات",
    history: "التاريخ كاملاً (الأفراد)", national: "الاتجاه الوطني (الأفراد)", date: "التاريخ",
    close: "إغلاق", noFigures: "لا أرقام لهذه الوحدة في أي جولة.", noRound: "لم تُستورد أي جولة لهذا البلد بعد.",
    other: "English", otherTitle: "Show the map in English", title: (c) => `أطلس DTM: ${c}`,
    mapOf: (c) => `خريطة ${c}`,
    classesLabel: "الفئات", fixed: "ثابتة (كل الجولات)", quantile: "شرائح متساوية العدد للجولة",
    jenks: "فواصل طبيعية للجولة", equal: "فترات متساوية للجولة",
    classesMeta: { fixed: "فواصل ثابتة لكل الجولات", quantile: "شرائح متساوية العدد", jenks: "فواصل طبيعية", equal: "فترات متساوية" },
    searchPlaceholder: "ابحث عن مكان: الاسم أو الرمز", noMatch: "لا وحدة مطابقة.", share: "مشاركة هذا العرض",
    download: "تنزيل", copied: "نُسخ الرابط.", copyFailed: (u) => `انسخ هذا الرابط: ${u}`,
    togglePanel: "إظهار اللوحة أو إخفاؤها", badCountry: (c, known) => `لا يوجد بلد ${c} هنا؛ البلدان: ${known}.`,
    basemapAttribution: "الخريطة الأساسية: Natural Earth",
  },
};

const $ = (id) => document.getElementById(id);
const state = { country: null, population: "idp", round: null, indicator: "individuals", level: 2, lang: "en",
  classes: "fixed" };
let basemap = null; // /basemap.json (null: not installed here; the map draws the units alone)
let countries = [], allRounds = [], rounds = []; // rounds: of the country and population, oldest first
let map = null, figures = null, byPcode = new Map(), hovered = null, selected = null;
let shownStyle = "", shownFigures = "", playing = false, idleWaiters = [];

const api = (window.dtmAtlas = {
  map: null, state, legend: null, figures: null, renders: 0, idle: false, error: null,
  rtlPluginStatus: () => getRTLTextPluginStatus(),
  whenIdle: () => (api.idle ? Promise.resolve(api.renders) : new Promise((resolve) => idleWaiters.push(resolve))),
});
const t = (key, ...args) => { const v = TEXT[state.lang][key]; return typeof v === "function" ? v(...args) : v; };

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

api.h = h; // for the modes' modules (fragility.js, flows.js, events.js, datasets.js)
api.getJSON = getJSON;

function status(text, isError = false) {
  const el = $("status");
  el.textContent = text || "";
  el.classList.toggle("error", isError);
  if (isError) api.error = text;
}

const locale = () => (state.lang === "ar" ? "ar" : "en-US");
function fmt(value, numberFormat) {
  if (value === null || value === undefined || Number.isNaN(value)) return t("noData");
  const integer = new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 });
  switch (numberFormat) {
    case "signed": return value > 0 ? `+${integer.format(value)}` : value < 0 ? `−${integer.format(-value)}` : integer.format(0);
    case "percent": return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: value * 100 >= 10 ? 1 : 2 }).format(value);
    default: return integer.format(value);
  }
}
const numberFormatOf = (indicator) => ({ change: "signed", change_12m: "signed", share: "percent" })[indicator] || "integer";

// Arabic month names as the country says them: Iraq's (كانون الثاني، شباط، آذار …) through ar-IQ
const AR_LOCALE = { IRQ: "ar-IQ", SYR: "ar-SY", JOR: "ar-JO", LBN: "ar-LB", YEM: "ar-YE", LBY: "ar-LY", SDN: "ar-SD" };
const dateLocale = () => (state.lang === "ar" ? AR_LOCALE[state.country] || "ar" : "en-GB");

function dateLabel(iso, month = false) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  const opts = month ? { month: "short", year: "numeric" } : { day: "numeric", month: "short", year: "numeric" };
  return new Intl.DateTimeFormat(dateLocale(), { ...opts, timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}
const roundKey = (r) => (r.round_number === null || r.round_number === undefined ? r.reporting_date : String(r.round_number));
const roundLabel = (r) => [r.round_number === null || r.round_number === undefined ? null : t("roundN", r.round_number),
  dateLabel(r.reporting_date)].filter(Boolean).join(" · ");
const country = () => countries.find((c) => c.country === state.country);
const countryName = (c) => (state.lang === "ar" ? c.name_ar : c.name_en);
const unitName = (p) => (state.lang === "ar" ? p.name_ar || p.name_en : p.name_en || p.name_ar) || p.pcode;

function names(p, cls = "") {
  return h("div", { class: `names ${cls}` },
    h("span", { class: "en", lang: "en", dir: "ltr" }, p.name_en || p.pcode),
    p.name_ar ? h("span", { class: "ar", lang: "ar", dir: "rtl" }, p.name_ar) : null);
}

// ------------------------------------------------------------------------------- URL state
function readHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  if (q.get("country")) state.country = q.get("country").toUpperCase();
  if (POPULATIONS.includes(q.get("population"))) state.population = q.get("population");
  if (INDICATORS.includes(q.get("indicator"))) state.indicator = q.get("indicator");
  if (LEVELS[q.get("level")]) state.level = Number(q.get("level"));
  if (TEXT[q.get("lang")]) state.lang = q.get("lang");
  state.classes = CLASSES.includes(q.get("classes")) ? q.get("classes") : "fixed";
  state.round = q.get("round") || null;
}

function writeHash() {
  const q = new URLSearchParams({ country: state.country, population: state.population, round: state.round,
    indicator: state.indicator, level: state.level, lang: state.lang });
  if (state.classes !== "fixed") q.set("classes", state.classes);
  history.replaceState(null, "", `#${q}`);
  updateDownloads();
}

// -------------------------------------------------------------------------------- language
function applyLanguage() {
  const root = document.documentElement;
  root.lang = state.lang;
  root.dir = state.lang === "ar" ? "rtl" : "ltr";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
    el.setAttribute("aria-label", t(el.dataset.i18nPlaceholder));
  }
  const other = state.lang === "ar" ? "en" : "ar";
  Object.assign($("lang"), { textContent: t("other"), title: t("otherTitle"), lang: other });
  $("lang").dir = other === "ar" ? "rtl" : "ltr";
  const c = country();
  $("country-name").textContent = c ? countryName(c) : "";
  document.title = c ? t("title", countryName(c)) : "DTM Atlas";
  $("map").setAttribute("aria-label", c ? t("mapOf", countryName(c)) : "");
  $("attribution").textContent = c ? (state.lang === "ar" ? c.attribution_ar : c.attribution_en) : "";
  for (const opt of $("country").options) {
    const k = countries.find((x) => x.country === opt.value);
    if (k) opt.textContent = countryName(k);
  }
  fillRounds();
  if (map && map.getLayer("labels")) map.setLayoutProperty("labels", "text-field", labelField());
  if (map && map.getLayer("basemap-countries")) map.setLayoutProperty("basemap-countries", "text-field", labelField());
  setAttribution();
  if (figures) renderLegend();
  renderNational();
  if (selected) showDetail(selected);
}

// --------------------------------------------------------------------------------- controls
function fillRounds() {
  rounds = allRounds.filter((r) => r.country === state.country && r.population === state.population);
  if (!rounds.some((r) => roundKey(r) === state.round)) {
    // the same reporting date in the other population, else the latest
    const same = rounds.find((r) => r.reporting_date === state.round || String(r.round_number) === state.round);
    state.round = same ? roundKey(same) : rounds.length ? roundKey(rounds.at(-1)) : null;
  }
  const slider = $("round");
  slider.max = Math.max(0, rounds.length - 1);
  slider.value = Math.max(0, rounds.findIndex((r) => roundKey(r) === state.round));
  slider.disabled = rounds.length < 2;
  $("play").disabled = rounds.length < 2;
  const r = rounds[Number(slider.value)];
  $("round-label").textContent = r ? roundLabel(r) : "";
  slider.setAttribute("aria-valuetext", r ? roundLabel(r) : "");
}

function syncControls() {
  const c = country();
  if (c && c.levels.length && !c.levels.includes(state.level)) {
    // the country's boundaries lack this level: the nearest level below, else the first it has
    state.level = [...c.levels].reverse().find((l) => l < state.level) || c.levels[0];
  }
  for (const radio of document.querySelectorAll('input[name="level"]')) {
    radio.disabled = Boolean(c) && !c.levels.includes(Number(radio.value));
  }
  $("country").value = state.country;
  $("population").value = state.population;
  $("indicator").value = state.indicator;
  $("classes").value = state.classes;
  for (const radio of document.querySelectorAll('input[name="level"]')) radio.checked = Number(radio.value) === state.level;
  fillRounds();
}

function stepTo(index) {
  const r = rounds[index];
  if (!r) return;
  state.round = roundKey(r);
  fillRounds();
  update();
}

async function play() {
  if (playing) { playing = false; return; }
  playing = true;
  $("play").textContent = "❚❚";
  $("play").setAttribute("aria-pressed", "true");
  $("play").title = t("pause");
  let i = Number($("round").value);
  if (i >= rounds.length - 1) i = -1; // at the end: start again from the first round
  while (playing && i < rounds.length - 1) {
    stepTo(++i);
    await api.whenIdle();
    await new Promise((resolve) => setTimeout(resolve, PLAY_PAUSE_MS));
  }
  playing = false;
  $("play").textContent = "▶";
  $("play").setAttribute("aria-pressed", "false");
  $("play").title = t("play");
}

function bindControls() {
  $("country").addEventListener("change", (e) => { state.country = e.target.value; onCountry(); });
  $("population").addEventListener("change", (e) => { state.population = e.target.value; fillRounds(); update(); });
  $("round").addEventListener("input", (e) => stepTo(Number(e.target.value)));
  $("play").addEventListener("click", play);
  $("indicator").addEventListener("change", (e) => { state.indicator = e.target.value; update(); });
  $("classes").addEventListener("change", (e) => { state.classes = e.target.value; update(); });
  $("panel-toggle").addEventListener("click", () => setPanel($("panel").classList.contains("collapsed")));
  $("share").addEventListener("click", share);
  bindSearch();
  for (const radio of document.querySelectorAll('input[name="level"]')) {
    radio.addEventListener("change", (e) => { if (e.target.checked) { state.level = Number(e.target.value); update(); } });
  }
  $("lang").addEventListener("click", () => { state.lang = state.lang === "ar" ? "en" : "ar"; writeHash(); applyLanguage(); });
  window.addEventListener("hashchange", () => {
    const before = state.country;
    readHash(); syncControls(); applyLanguage();
    if (state.country !== before) onCountry(); else update();
  });
}

// ------------------------------------------------------------------------------------ style
function geometryTiles(c) {
  const own = LEVELS[state.level];
  const layers = state.level > 1 && c.levels.includes(1) ? `${own},governorates` : own;
  const set = c.boundary_set;
  return [`${location.origin}/webmap/geometry/${set.id}/${layers}/{z}/{x}/{y}.mvt?v=${encodeURIComponent(set.stamp)}`];
}

function fillColor(lg) {
  if (!lg || !lg.colors || lg.colors.length === 0) return (lg && lg.no_data_color) || "#d9d9d9";
  // the class comes with the round's figures (styles.classify, computed server side); none = no data
  return ["match", ["coalesce", ["feature-state", "class"], -1], ...lg.colors.flatMap((c, i) => [i, c]), lg.no_data_color];
}

const labelField = () => (state.lang === "ar"
  ? ["coalesce", ["get", "name_ar"], ["get", "name_en"], ["get", "pcode"]]
  : ["coalesce", ["get", "name_en"], ["get", "name_ar"], ["get", "pcode"]]);

function buildStyle(c) {
  const layer = LEVELS[state.level];
  const lg = figures && figures.legend;
  const flag = (name) => ["boolean", ["feature-state", name], false];
  const [w, s, e, n] = c.bounds;
  const layers = [
    { id: "background", type: "background", paint: { "background-color": basemap ? SEA : BACKGROUND } },
    ...basemapLayers(c, "below"),
    { id: "units-fill", type: "fill", source: "units", "source-layer": layer,
      paint: { "fill-color": fillColor(lg), "fill-opacity": 1, "fill-antialias": true } },
    { id: "units-outline", type: "line", source: "units", "source-layer": layer, layout: { "line-join": "round" },
      paint: { "line-color": lg && lg.diverging ? DIVERGING_OUTLINE : OUTLINE,
        "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.4, 8, 1, 12, 2] } },
  ];
  if (state.level > 1 && c.levels.includes(1)) {
    layers.push({ id: "governorate-lines", type: "line", source: "units", "source-layer": "governorates",
      layout: { "line-join": "round" },
      paint: { "line-color": PARENT_OUTLINE, "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.8, 8, 1.6, 12, 3] } });
  }
  layers.push({ id: "units-highlight", type: "line", source: "units", "source-layer": layer,
    layout: { "line-join": "round" },
    paint: { "line-color": HIGHLIGHT, "line-width": ["case", flag("selected"), 3, 2],
      "line-opacity": ["case", flag("selected"), 1, flag("hover"), 0.9, 0] } });
  layers.push({ id: "labels", type: "symbol", source: "units", "source-layer": "labels",
    minzoom: LABEL_MINZOOM[state.level], filter: ["==", ["get", "level"], state.level],
    layout: { "text-field": labelField(), "text-font": [LABEL_FONT],
      "text-size": ["interpolate", ["linear"], ["zoom"], 4, 11, 10, 14], "text-max-width": 8, "text-padding": 3,
      // the larger unit's label wins a collision; none overlaps another (text-allow-overlap: false)
      "symbol-sort-key": ["-", 0, ["coalesce", ["get", "area_km2"], 0]], "text-allow-overlap": false },
    paint: { "text-color": LABEL, "text-halo-color": LABEL_HALO, "text-halo-width": 1.4 } });
  layers.push(...basemapLayers(c, "above"));
  const sources = {
    units: { type: "vector", tiles: geometryTiles(c), minzoom: 0, maxzoom: 12, bounds: [w, s, e, n], promoteId: "pcode" },
  };
  if (basemap) sources.basemap = { type: "vector", tiles: basemap.tiles, minzoom: basemap.minzoom, maxzoom: basemap.maxzoom };
  return {
    version: 8,
    name: "DTM Atlas web map",
    glyphs: `${location.origin}/fonts/{fontstack}/{range}.pbf`,
    transition: { duration: 0, delay: 0 },
    sources,
    layers,
  };
}

// the basemap under the units (sea, land, neighbours, lakes, rivers) and its labels above them
// (countries, then places: MapLibre drops a label that would collide with one already placed)
function basemapLayers(c, where) {
  if (!basemap) return [];
  const src = { source: "basemap" };
  if (where === "below") {
    return [
      { id: "basemap-land", type: "fill", ...src, "source-layer": "land", paint: { "fill-color": LAND } },
      { id: "basemap-neighbours", type: "fill", ...src, "source-layer": "countries", paint: { "fill-color": NEIGHBOUR,
        "fill-outline-color": BORDER } },
      { id: "basemap-borders", type: "line", ...src, "source-layer": "countries",
        paint: { "line-color": BORDER, "line-width": ["interpolate", ["linear"], ["zoom"], 2, 0.5, 8, 1.2] } },
      { id: "basemap-lakes", type: "fill", ...src, "source-layer": "lakes", paint: { "fill-color": SEA } },
      { id: "basemap-rivers", type: "line", ...src, "source-layer": "rivers",
        paint: { "line-color": WATER_LINE, "line-width": ["interpolate", ["linear"], ["zoom"], 3, 0.6, 8, 1.6] } },
    ];
  }
  return [
    // rivers drawn again thinly over the units, so the Tigris and Euphrates stay visible
    { id: "basemap-rivers-over", type: "line", ...src, "source-layer": "rivers", minzoom: 4,
      paint: { "line-color": WATER_LINE, "line-opacity": 0.8, "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.5, 8, 1.2] } },
    { id: "basemap-countries", type: "symbol", ...src, "source-layer": "country_labels",
      filter: ["!=", ["get", "name_en"], c.name_en],
      layout: { "text-field": labelField(), "text-font": [LABEL_FONT], "text-size": 13, "text-transform": "uppercase",
        "text-letter-spacing": 0.08, "text-max-width": 7, "symbol-sort-key": ["-", 0, ["get", "area_km2"]] },
      paint: { "text-color": "#77746c", "text-halo-color": LABEL_HALO, "text-halo-width": 1.2 } },
    { id: "basemap-places", type: "symbol", ...src, "source-layer": "places", minzoom: 4,
      layout: { "text-field": ["coalesce", ["get", "name_en"], ""], "text-font": [LABEL_FONT],
        "text-size": ["interpolate", ["linear"], ["zoom"], 4, 10, 10, 13], "text-anchor": "left", "text-offset": [0.5, 0],
        "text-optional": true, "symbol-sort-key": ["get", "rank"], "icon-allow-overlap": false },
      paint: { "text-color": PLACE, "text-halo-color": LABEL_HALO, "text-halo-width": 1.2 } },
    { id: "basemap-place-dots", type: "circle", ...src, "source-layer": "places", minzoom: 4,
      paint: { "circle-radius": ["case", [">", ["get", "capital"], 0], 3.5, 2.5], "circle-color": PLACE,
        "circle-stroke-color": "#fff", "circle-stroke-width": 1 } },
  ];
}

let attribution = null;
function setAttribution() {
  // the attribution in the page's language (a control's text cannot change: it is replaced)
  const c = country();
  if (!map || !c) return;
  if (attribution) map.removeControl(attribution);
  const parts = [state.lang === "ar" ? c.attribution_ar : c.attribution_en];
  if (basemap) parts.push(t("basemapAttribution"));
  attribution = new AttributionControl({ compact: true, customAttribution: parts.filter(Boolean) });
  map.addControl(attribution, "bottom-right");
}

// ----------------------------------------------------------------------------------- legend
function renderLegend() {
  const lg = figures.legend;
  const r = rounds.find((x) => x.reporting_date === figures.round.reporting_date);
  const items = (lg.colors || []).map((c, i) => h("li", {},
    h("span", { class: "swatch", style: `background:${c}` }), h("span", { dir: "ltr" }, lg.labels[i]),
    h("span", { class: "count", title: t(`plural${state.level}`) }, String(lg.counts[i]))));
  items.push(h("li", {}, h("span", { class: "swatch", style: `background:${lg.no_data_color}` }), t("noData")));
  $("legend").replaceChildren(
    h("h2", {}, state.lang === "ar" ? `${t(state.indicator)} · ${t(state.population)}` : lg.title || t(state.indicator)),
    h("ol", {}, items),
    h("div", { class: "meta", "data-classes": lg.classes || "" }, [r ? roundLabel(r) : figures.round.reporting_date,
      t(`plural${state.level}`), `${t("classes")}: ${t("classesMeta")[lg.classes || "quantile"]}`].filter(Boolean).join(" · ")));
}

// ---------------------------------------------------------------------------------- hover
function setFeatureState(id, values) {
  if (id === null || id === undefined || !map || !map.getSource("units")) return;
  map.setFeatureState({ source: "units", sourceLayer: LEVELS[state.level], id }, values);
}

function figureRows(f) {
  const rows = [[t("individuals"), fmt(f && f.individuals)], [t("families"), fmt(f && f.families)]];
  if (!["individuals", "families"].includes(state.indicator)) {
    rows.push([t(state.indicator), fmt(f && f.value, numberFormatOf(state.indicator))]);
  }
  return h("dl", { class: "figures" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function showTooltip(feature, point) {
  const p = feature.properties;
  const f = byPcode.get(p.pcode);
  const lg = (figures && figures.legend) || { colors: [], labels: [], no_data_color: "#d9d9d9" };
  const cls = f && typeof f.class === "number" ? f.class : null;
  const tip = $("tooltip");
  const swatch = h("span", { class: "swatch", style: `background:${cls === null ? lg.no_data_color : lg.colors[cls]}` });
  tip.replaceChildren(names(p), h("div", { class: "pcode" }, `${p.pcode} · ${t(`level${state.level}`)}`), figureRows(f),
    h("div", { class: "pcode" }, swatch, " ", cls === null ? t("noData") : h("span", { dir: "ltr" }, lg.labels[cls])));
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
// one time axis for both populations; the current round's date marked
function chart(seriesByPop, label) {
  const W = 290, H = 140, L = 48, R = 10, T = 10, B = 26;
  const all = Object.values(seriesByPop).flat().filter((r) => r.individuals !== null && r.individuals !== undefined);
  if (all.length === 0) return null;
  const time = (r) => Date.parse(r.reporting_date);
  const t0 = Math.min(...all.map(time)), t1 = Math.max(...all.map(time));
  const max = Math.max(...all.map((r) => r.individuals), 1);
  const x = (v) => (t1 === t0 ? L + (W - L - R) / 2 : L + ((v - t0) / (t1 - t0)) * (W - L - R));
  const xs = (v) => (state.lang === "ar" ? W - x(v) + L - R : x(v)); // time runs right to left in Arabic
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const current = figures ? figures.round.reporting_date : null;
  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label },
    h("svg:line", { class: "axis", x1: L, y1: y(0), x2: W - R, y2: y(0) }),
    h("svg:text", { x: L - 4, y: y(max) + 3, "text-anchor": "end" }, fmt(max)),
    h("svg:text", { x: L - 4, y: y(0) + 3, "text-anchor": "end" }, fmt(0)));
  const years = new Set(all.map((r) => r.reporting_date.slice(0, 4)));
  for (const yr of years) {
    const v = Date.UTC(Number(yr), 0, 1);
    if (v < t0 || v > t1) continue;
    svg.append(h("svg:line", { class: "axis", x1: xs(v), y1: y(0), x2: xs(v), y2: y(0) + 4 }),
      h("svg:text", { x: xs(v), y: H - B + 16, "text-anchor": "middle" }, yr));
  }
  if (current) {
    const v = Date.parse(current);
    svg.append(h("svg:line", { class: "now", x1: xs(v), y1: T, x2: xs(v), y2: y(0) }));
  }
  for (const [pop, series] of Object.entries(seriesByPop)) {
    const pts = series.filter((r) => r.individuals !== null && r.individuals !== undefined);
    if (!pts.length) continue;
    svg.append(h("svg:polyline", { class: "series", "data-population": pop, stroke: SERIES_COLOR[pop],
      points: pts.map((r) => `${xs(time(r)).toFixed(1)},${y(r.individuals).toFixed(1)}`).join(" ") }));
    for (const r of pts) {
      if (r.reporting_date !== current && pts.length > 40) continue; // long histories: a line, the current point marked
      svg.append(h("svg:circle", { cx: xs(time(r)), cy: y(r.individuals), r: r.reporting_date === current ? 4 : 2.5,
        fill: r.reporting_date === current ? SERIES_COLOR[pop] : "#fff", stroke: SERIES_COLOR[pop], "stroke-width": 1.5 },
      h("svg:title", {}, `${t(pop)} · ${dateLabel(r.reporting_date)}: ${fmt(r.individuals)}`)));
    }
  }
  const key = h("div", { class: "key" }, Object.keys(seriesByPop).map((pop) =>
    h("span", {}, h("span", { class: "swatch line", style: `background:${SERIES_COLOR[pop]}` }), t(pop))));
  return h("figure", { class: "chart" }, svg, key);
}

function historyTable(seriesByPop) {
  const dates = [...new Set(Object.values(seriesByPop).flat().map((r) => r.reporting_date))].sort().reverse();
  const at = {};
  for (const [pop, series] of Object.entries(seriesByPop)) for (const r of series) at[`${pop}|${r.reporting_date}`] = r;
  const current = figures && figures.round.reporting_date;
  return h("table", { class: "series" },
    h("thead", {}, h("tr", {}, [t("date"), t("idp"), t("returnee")].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, dates.map((d) => h("tr", { class: d === current ? "current" : null, "data-date": d },
      h("td", {}, dateLabel(d)),
      ...POPULATIONS.map((pop) => { const r = at[`${pop}|${d}`]; return h("td", { "data-population": pop }, r ? fmt(r.individuals) : "–"); })))));
}

function splitSeries(series) {
  const out = { idp: [], returnee: [] };
  for (const r of series) if (out[r.population]) out[r.population].push(r);
  for (const k of Object.keys(out)) out[k].sort((a, b) => a.reporting_date.localeCompare(b.reporting_date));
  return out;
}

function renderNational() {
  const c = country();
  if (!c) return;
  const series = splitSeries(allRounds.filter((r) => r.country === state.country));
  const fig = chart(series, t("national"));
  $("national").replaceChildren(h("h2", {}, t("national")), fig || h("p", { class: "muted" }, t("noData")));
}

async function showDetail(p) {
  const detail = $("detail");
  const close = h("button", { type: "button", class: "close", "aria-label": t("close"), title: t("close") }, "×");
  close.addEventListener("click", clearSelection);
  const body = h("div", { class: "muted" }, t("loading"));
  detail.replaceChildren(close, names(p), h("div", { class: "pcode" }, `${p.pcode} · ${t(`level${p.level}`)}`),
    h("h2", { style: "margin-top:8px" }, t("history")), body);
  detail.hidden = false;
  detail.dataset.pcode = p.pcode;
  delete detail.dataset.loaded;
  try {
    const cachedSeries = detailSeries && detailSeries.pcode === p.pcode ? detailSeries.series : null;
    const series = cachedSeries || splitSeries((await getJSON(`/admin-units/${encodeURIComponent(p.pcode)}/timeseries`)).series);
    if (detail.dataset.pcode !== p.pcode) return; // another unit was clicked meanwhile
    detailSeries = { pcode: p.pcode, series };
    body.replaceWith(h("div", { id: "history" }, chart(series, `${unitName(p)}: ${t("history")}`),
      h("div", { class: "scroll" }, historyTable(series))));
  } catch (err) {
    if (detail.dataset.pcode !== p.pcode) return;
    body.textContent = err.status === 404 ? t("noFigures") : err.message;
  }
  detail.dataset.loaded = "1";
}

let detailSeries = null; // the selected unit's whole history, read once

function renderHistory(p, series) {
  const el = $("history");
  if (!el) return;
  el.replaceChildren(chart(series, `${unitName(p)}: ${t("history")}`), h("div", { class: "scroll" }, historyTable(series)));
}

function select(feature) {
  setFeatureState(selected && selected.pcode, { selected: false });
  selected = { ...feature.properties, level: state.level };
  setFeatureState(selected.pcode, { selected: true });
  $("hint").hidden = true;
  showDetail(selected);
  // the unit's panel where it is seen: the panel opens (phone) and scrolls to it
  setPanel(true);
  $("detail").scrollIntoView({ block: "nearest" });
}

// --------------------------------------------------------------------------- panel, errors
const PHONE = window.matchMedia("(max-width: 700px)");
const phone = () => PHONE.matches;
function placeLegend() {
  // on a phone the legend lies over the map (seen with it); on a wide screen it heads the panel
  const legends = $("legends");
  if (phone()) { if (legends.parentElement !== $("map")) $("map").prepend(legends); }
  else if (legends.parentElement !== $("panel-body")) $("panel-body").insertBefore(legends, $("detail"));
}
function setPanel(open) {
  $("panel").classList.toggle("collapsed", !open);
  $("panel-toggle").setAttribute("aria-expanded", String(open));
  $("panel-toggle").textContent = open ? "▾" : "▴";
}

function showError(text) {
  // over the map, where it is seen on any screen (and in the panel's status line)
  $("error").textContent = text || "";
  $("error").hidden = !text;
  if (text) status(text, true);
}

// ---------------------------------------------------------------------------- share, download
function updateDownloads() {
  const q = new URLSearchParams({ country: state.country || "", population: state.population, round: state.round || "" });
  const base = `/exports/figures-adm${state.level}`;
  $("dl-gpkg").href = `${base}.gpkg?${q}`;
  $("dl-shp").href = `${base}.shp?${q}`;
  $("dl-csv").href = `${base}.csv?${q}`;
}

async function share() {
  const url = location.href;
  try {
    await navigator.clipboard.writeText(url);
    $("share-done").textContent = t("copied");
  } catch {
    $("share-done").textContent = t("copyFailed", url);
  }
  api.shared = url;
}

// ---------------------------------------------------------------------------------- search
let searchSeq = 0;
function bindSearch() {
  const input = $("search"), list = $("search-results");
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value.trim()), 200);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { list.hidden = true; return; }
    if (e.key === "Enter") {
      const first = list.querySelector("li[data-pcode]");
      if (first) first.click();
    }
  });
  document.addEventListener("click", (e) => { if (!$("search-box").contains(e.target)) list.hidden = true; });
}

async function search(q) {
  const list = $("search-results");
  const seq = ++searchSeq;
  if (q.length < 2) { list.hidden = true; list.replaceChildren(); return; }
  let body;
  try {
    body = await getJSON(`/admin-units?${new URLSearchParams({ q, country: state.country, limit: 12 })}`);
  } catch (err) {
    if (seq === searchSeq) { list.replaceChildren(h("li", { class: "muted" }, err.message)); list.hidden = false; }
    return;
  }
  if (seq !== searchSeq) return;
  const c = country();
  const units = body.units.filter((u) => !c || c.levels.includes(u.level));
  list.replaceChildren(...(units.length ? units.map((u) => {
    const li = h("li", { role: "option", "data-pcode": u.pcode, "data-level": u.level }, names(u),
      h("span", { class: "pcode" }, `${t(`level${u.level}`)} · ${u.pcode}`));
    li.addEventListener("click", () => goTo(u));
    return li;
  }) : [h("li", { class: "muted" }, t("noMatch"))]));
  list.hidden = false;
  api.searchResults = units.map((u) => u.pcode);
}

async function goTo(unit) {
  // the unit's level on the map, the view on the unit, the unit selected with its panel open
  $("search-results").hidden = true;
  $("search").value = unitName(unit);
  const feature = await getJSON(`/admin-units/${encodeURIComponent(unit.pcode)}`);
  if (state.level !== unit.level) { state.level = unit.level; syncControls(); await update(); }
  const b = feature.bbox || bboxOf(feature.geometry);
  map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, maxZoom: 10, animate: false });
  select({ properties: { pcode: unit.pcode, name_en: unit.name_en, name_ar: unit.name_ar } });
  api.found = unit.pcode;
}

function bboxOf(geometry) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const walk = (c) => { if (typeof c[0] === "number") { w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]); } else c.forEach(walk); };
  walk(geometry.coordinates);
  return [w, s, e, n];
}

function clearSelection() {
  setFeatureState(selected && selected.pcode, { selected: false });
  selected = null;
  $("detail").hidden = true;
  $("detail").replaceChildren();
  $("hint").hidden = false;
}

// ----------------------------------------------------------------------------------- update
function figuresUrl() {
  const q = new URLSearchParams({ country: state.country, population: state.population, round: state.round,
    indicator: state.indicator, classes: state.classes });
  return `/webmap/figures/${state.level}.json?${q}`;
}

let stated = new Set(); // P-codes given a class in the current source (a new source starts empty)

function applyFigures() {
  // the round's classes as feature state of the units (the geometry tiles stay as they are); every
  // unit classed before gets its new class or -1 (no data): no removal (MapLibre then drops class 0)
  const sourceLayer = LEVELS[state.level];
  const next = new Set();
  (figures ? figures.pcode : []).forEach((pcode, i) => {
    const cls = figures.class[i] === null ? -1 : figures.class[i];
    map.setFeatureState({ source: "units", sourceLayer, id: pcode }, { class: cls });
    next.add(pcode);
  });
  for (const pcode of stated) {
    if (!next.has(pcode)) map.setFeatureState({ source: "units", sourceLayer, id: pcode }, { class: -1 });
  }
  stated = next;
  const lg = figures && figures.legend;
  map.setPaintProperty("units-fill", "fill-color", fillColor(lg));
  map.setPaintProperty("units-outline", "line-color", lg && lg.diverging ? DIVERGING_OUTLINE : OUTLINE);
  map.triggerRepaint();
}

async function update() {
  writeHash();
  const c = country();
  if (!c) return;
  const want = state.round === null ? `no round of ${c.country}` : figuresUrl();
  const styleKey = `${c.country}|${c.boundary_set.stamp}|${state.level}`;
  if (want === shownFigures && styleKey === shownStyle) return;
  shownFigures = want;
  api.idle = false;
  document.documentElement.dataset.map = "loading";
  status(t("loading"));
  let body = null;
  if (state.round !== null) {
    try {
      body = await getJSON(want);
    } catch (err) {
      if (want === shownFigures) shownFigures = ""; // let the same choice be tried again
      showError(err.message);
      return;
    }
    if (want !== shownFigures) return; // a newer choice was made while this one loaded
  }
  figures = api.figures = body;
  api.legend = body && body.legend;
  byPcode = new Map(body ? body.pcode.map((p, i) => [p, { class: body.class[i], value: body.value[i],
    individuals: body.individuals[i], families: body.families[i] }]) : []);
  if (body) renderLegend(); else $("legend").replaceChildren();
  if (!map) {
    createMap(c);
    shownStyle = styleKey;
  } else if (styleKey !== shownStyle) {
    shownStyle = styleKey;
    hovered = null;
    stated = new Set();
    $("tooltip").hidden = true;
    map.setStyle(buildStyle(c), { diff: true });
  }
  if (map.isStyleLoaded() && map.getSource("units")) applyFigures();
  else map.once("styledata", function again() {
    if (map.getSource("units") && map.getLayer("units-fill")) applyFigures(); else map.once("styledata", again);
  });
  waitIdle(want);
  if (selected) {
    if (selected.level !== state.level) clearSelection();
    else renderHistoryMark();
  }
  renderNational();
}

function renderHistoryMark() {
  // the whole history is the same for every round: only the current round's mark moves (no request)
  if (selected && detailSeries && detailSeries.pcode === selected.pcode) renderHistory(selected, detailSeries.series);
}

function waitIdle(want) {
  const done = () => {
    if (want !== shownFigures) return;
    if (!map.areTilesLoaded() || !map.isStyleLoaded()) { map.once("idle", done); return; }
    status(figures ? "" : t("noRound"));
    api.idle = true;
    api.renders += 1;
    document.documentElement.dataset.map = "idle";
    const waiters = idleWaiters;
    idleWaiters = [];
    waiters.forEach((resolve) => resolve(api.renders));
  };
  map.once("idle", done);
}

function createMap(c) {
  const [w, s, e, n] = c.bounds;
  map = api.map = new MapLibreMap({
    container: "map",
    style: buildStyle(c),
    bounds: [[w, s], [e, n]],
    fitBoundsOptions: { padding: 16 },
    minZoom: 1,
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
  map.addControl(new ScaleControl({ maxWidth: 120, unit: "metric" }), "bottom-left");
  setAttribution();
  map.on("mousemove", "units-fill", onMove);
  map.on("mouseleave", "units-fill", onLeave);
  map.on("click", "units-fill", (ev) => !(api.fragility && api.fragility.on) && ev.features && ev.features[0] && select(ev.features[0]));
  map.on("error", (ev) => {
    const message = (ev.error && ev.error.message) || "map error";
    console.error(message);
    status(`Map: ${message}`, true);
  });
}

function onCountry() {
  const c = country();
  if (!c) {
    showError(t("badCountry", state.country, countries.map((k) => k.country).join(", ")));
    return;
  }
  showError("");
  clearSelection();
  syncControls();
  applyLanguage();
  if (map && c) {
    const [w, s, e, n] = c.bounds;
    map.fitBounds([[w, s], [e, n]], { padding: 16, animate: false });
  }
  update();
}

// ------------------------------------------------------------------------------------- start
async function start() {
  readHash();
  const plugin = document.querySelector("script[data-rtl-plugin]");
  if (plugin) setRTLTextPlugin(new URL(plugin.dataset.rtlPlugin, location.href).href, true); // shapes Arabic labels
  bindControls();
  try {
    const [cs, rs, bm] = await Promise.all([getJSON("/webmap/countries"), getJSON("/rounds?country=all"),
      getJSON("/basemap.json").catch((err) => { console.warn(`no basemap: ${err.message}`); return null; })]);
    basemap = api.basemap = bm;
    countries = cs.countries;
    allRounds = rs.sort((a, b) => a.reporting_date.localeCompare(b.reporting_date) || (a.round_number || 0) - (b.round_number || 0));
  } catch (err) {
    status(`Cannot read the countries and rounds: ${err.message}`, true);
    return;
  }
  if (!countries.length) {
    status("No boundaries have been imported yet (dtm-atlas boundaries import).", true);
    return;
  }
  if (!country()) {
    const asked = state.country;
    // the country with the most rounds first
    const n = (c) => Object.values(c.rounds || {}).reduce((a, b) => a + b, 0);
    state.country = [...countries].sort((a, b) => n(b) - n(a))[0].country;
    if (asked) showError(t("badCountry", asked, countries.map((k) => k.country).join(", ")));
  }
  $("country").replaceChildren(...countries.map((c) => h("option", { value: c.country }, c.name_en)));
  $("country-field").hidden = countries.length < 2;
  const mine = allRounds.filter((r) => r.country === state.country);
  if (!mine.some((r) => r.population === state.population) && mine.length) state.population = mine[0].population;
  placeLegend();
  PHONE.addEventListener("change", () => { placeLegend(); setPanel(!phone()); if (map) map.resize(); });
  if (phone()) setPanel(false); // the map and its legend first; the panel opens on demand
  syncControls();
  applyLanguage();
  await update();
}

start();
