// The small map of the OGC API - Features HTML pages (/ogc?f=html, collections, a collection,
// its items, one item): the service's own basemap (/basemap.json: land, neighbours, lakes,
// rivers) under the page's features, fitted to them. Nothing is fetched from outside.
// <div id="ogcmap" data-geojson="URL of GeoJSON" data-bboxes='[[x0,y0,x1,y1],...]'>
import { Map as MapLibreMap, NavigationControl } from "maplibre-gl";

const el = document.getElementById("ogcmap");
const FILL = "#0033a0";

function bboxFeatures(bboxes) {
  return {
    type: "FeatureCollection",
    features: bboxes.map(([x0, y0, x1, y1]) => ({
      type: "Feature",
      properties: {},
      geometry: { type: "Polygon", coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] },
    })),
  };
}

function extent(gj) {
  let b = [180, 90, -180, -90];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])];
    } else c.forEach(walk);
  };
  const feats = gj.type === "FeatureCollection" ? gj.features : [gj];
  feats.forEach((f) => f.geometry && walk(f.geometry.coordinates));
  return b[0] <= b[2] ? b : null;
}

async function basemapSource() {
  try {
    const r = await fetch("/basemap.json");
    if (!r.ok) return null;
    const tj = await r.json();
    return { type: "vector", tiles: tj.tiles, minzoom: tj.minzoom || 0, maxzoom: tj.maxzoom || 8 };
  } catch {
    return null;
  }
}

async function main() {
  if (!el) return;
  let data = null;
  if (el.dataset.bboxes) data = bboxFeatures(JSON.parse(el.dataset.bboxes));
  else if (el.dataset.geojson) {
    const r = await fetch(el.dataset.geojson, { headers: { Accept: "application/geo+json" } });
    if (r.ok) data = await r.json();
  }
  const base = await basemapSource();
  const layers = [{ id: "bg", type: "background", paint: { "background-color": base ? "#dce8f0" : "#f3f5f9" } }];
  const sources = {};
  if (base) {
    sources.basemap = base;
    layers.push(
      { id: "land", type: "fill", source: "basemap", "source-layer": "land", paint: { "fill-color": "#f4f1ea" } },
      { id: "countries", type: "line", source: "basemap", "source-layer": "countries", paint: { "line-color": "#b9b4a8" } },
      { id: "lakes", type: "fill", source: "basemap", "source-layer": "lakes", paint: { "fill-color": "#dce8f0" } },
    );
  }
  if (data) {
    sources.data = { type: "geojson", data };
    layers.push(
      { id: "fill", type: "fill", source: "data", filter: ["!=", ["geometry-type"], "Point"],
        paint: { "fill-color": FILL, "fill-opacity": 0.15 } },
      { id: "line", type: "line", source: "data", filter: ["!=", ["geometry-type"], "Point"],
        paint: { "line-color": FILL, "line-width": 1 } },
      { id: "points", type: "circle", source: "data", filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-radius": 3, "circle-color": FILL, "circle-stroke-color": "#fff", "circle-stroke-width": 0.5 } },
    );
  }
  const b = data ? extent(data) : null;
  const map = new MapLibreMap({
    container: el,
    style: { version: 8, sources, layers },
    bounds: b ? [[b[0], b[1]], [b[2], b[3]]] : [[30, 10], [60, 45]],
    fitBoundsOptions: { padding: 20, maxZoom: 11 },
    attributionControl: { compact: true, customAttribution: base ? "Natural Earth" : "" },
  });
  map.addControl(new NavigationControl({ showCompass: false }));
  map.on("load", () => el.setAttribute("data-ready", data ? String((data.features || [data]).length) : "0"));
}

main();
