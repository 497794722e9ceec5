// DTM Atlas web map, print: a "Print map (PDF)" link to the static map of the view (the service's
// /maps/choropleth.pdf of the same country, round, population, level, indicator and classes: an A4
// page with title, legend, scale bar and sources, its text extractable) and "Print page", the
// browser's print of the page itself with a print stylesheet (map and legend, no controls).
// window.dtmAtlas.print exposes the link for tests.

const $ = (id) => document.getElementById(id);
const api = window.dtmAtlas;
const TEXT = {
  en: { pdf: "Print map (PDF)", page: "Print page", title: "The static map of this view: A4, with legend and sources" },
  ar: { pdf: "طباعة الخريطة (PDF)", page: "طباعة الصفحة", title: "الخريطة الثابتة لهذا العرض: A4 مع المفتاح والمصادر" },
};
const t = (k) => (TEXT[document.documentElement.lang] || TEXT.en)[k];

function mapUrl() {
  const s = api.state;
  const q = new URLSearchParams({ population: s.population, level: String(s.level), indicator: s.indicator });
  if (s.country) q.set("country", s.country);
  if (s.round !== null && s.round !== undefined) q.set("round", String(s.round));
  return `/maps/choropleth.pdf?${q}`;
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
