// DTM Atlas web map, print: a "Print map (PDF)" link to the static map of the exact view on screen
// (the service's /maps/choropleth.pdf, or /maps/fragility.pdf in fragility mode, of the same country,
// round, population, level, indicator, classes method and the map's visible box as ?bbox=: an A4 page
// with title, legend, scale bar and sources, its text extractable; static maps are bilingual, English
// and Arabic) and "Print page", the browser's print of the page itself with a print stylesheet (map
// and legend, no controls). window.dtmAtlas.print exposes the link for tests.

const $ = (id) => document.getElementById(id);
const api = window.dtmAtlas;
const TEXT = {
  en: { pdf: "Print map (PDF)", page: "Print page", title: "The static map of this view: A4, with legend and sources" },
  ar: { pdf: "طباعة الخريطة (PDF)", page: "طباعة الصفحة", title: "الخريطة الثابتة لهذا العرض: A4 مع المفتاح والمصادر" },
};
const t = (k) => (TEXT[document.documentElement.lang] || TEXT.en)[k];
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const fixed = (v) => String(Math.round(v * 1e4) / 1e4);

// the visible box in lon/lat (what /maps?bbox= takes: -180..180, -85..85, west < east)
function viewBox() {
  const map = api.map;
  if (!map || !map.getBounds) return null;
  const b = map.getBounds();
  const w = clamp(b.getWest(), -180, 180), e = clamp(b.getEast(), -180, 180);
  const s = clamp(b.getSouth(), -85, 85), n = clamp(b.getNorth(), -85, 85);
  if (!(w < e && s < n)) return null;
  return [w, s, e, n].map(fixed).join(",");
}

function mapUrl() {
  const s = api.state;
  const fragility = api.fragility && api.fragility.on;
  const q = new URLSearchParams({ population: s.population, level: String(fragility ? 3 : s.level) });
  if (!fragility) q.set("indicator", s.indicator);
  if (s.country) q.set("country", s.country);
  if (s.round !== null && s.round !== undefined) q.set("round", String(s.round));
  if (s.classes && !fragility) q.set("classes", s.classes);
  const box = viewBox();
  if (box) q.set("bbox", box);
  return `/maps/${fragility ? "fragility" : "choropleth"}.pdf?${q}`;
}

function update() {
  const a = $("print-pdf");
  if (!a) return;
  a.href = mapUrl();
  a.textContent = t("pdf");
  a.title = t("title");
  $("print-page").textContent = t("page");
}

function init() {
  const style = document.createElement("style");
  style.textContent = `
    @media print {
      @page { size: A4 landscape; margin: 10mm; }
      body { display: block !important; }
      #panel { position: static !important; width: auto !important; box-shadow: none !important; }
      #panel header .top, #controls, #actions, #search-box, #hint, #status, #national, #detail, footer,
        .maplibregl-ctrl-top-right, #tooltip, #panel-toggle { display: none !important; }
      #map { position: relative !important; width: 100% !important; height: 150mm !important; }
      #legends, #legend { display: block !important; }
    }`;
  document.head.append(style);
  const a = document.createElement("a");
  a.id = "print-pdf";
  a.target = "_blank";
  a.rel = "noopener";
  const button = document.createElement("button");
  button.type = "button";
  button.id = "print-page";
  button.addEventListener("click", () => window.print());
  $("actions").append(" ", a, " ", button);
  update();
  window.addEventListener("hashchange", update);
  document.addEventListener("change", () => setTimeout(update, 0));
  document.addEventListener("click", () => setTimeout(update, 0));
  const attach = () => (api.map ? api.map.on("idle", update) : setTimeout(attach, 100));
  attach();
  api.print = { url: mapUrl, update };
}

init();
