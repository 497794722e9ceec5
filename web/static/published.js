// DTM Atlas web map, a published round: `/?published=URL` draws a round that `dtm-atlas publish
// --to DIR` wrote as static files (object storage, a CDN: no worker), read from its PMTiles archive
// with the `pmtiles` package's protocol for MapLibre (served by this server under /vendor/, no CDN).
// URL is the round's latest.json (the current version: its `prefix` names the archive) or a
// tiles.pmtiles itself. The archive's own metadata gives the legend and the round; the figures are
// drawn at the map's admin level in place of the live units' fill. The host serving the files must
// answer HTTP range requests and, on another origin, allow this page by CORS (docs/deploy.md).
// window.dtmAtlas.published exposes its state for tests.

import { addProtocol } from "maplibre-gl";

const $ = (id) => document.getElementById(id);
const api = window.dtmAtlas;
const LEVELS = { 1: "governorates", 2: "districts", 3: "subdistricts" };
const SOURCE = "published", FILL = "published-fill", LINE = "published-outline";
const mode = (api.published = { url: null, tiles: null, version: null, round: null, layer: null, ready: false, error: null });

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`${src} did not load`));
    document.head.append(s);
  });
}

async function archiveURL(url) {
  // a tiles.pmtiles as it is; a latest.json names the current version's prefix (relative to the bucket root)
  if (/\.pmtiles($|\?)/.test(url.pathname)) return { tiles: url.href, latest: null };
  const resp = await fetch(url.href, { headers: { accept: "application/json" } });
  if (!resp.ok) throw new Error(`${url.href}: HTTP ${resp.status}`);
  const latest = await resp.json();
  const roundDir = latest.prefix.replace(/\/v\d+$/, "");
  if (!url.pathname.endsWith(`${roundDir}/latest.json`)) throw new Error(`${url.href} is not the latest.json of ${roundDir}`);
  const root = new URL(url.pathname.slice(0, -`${roundDir}/latest.json`.length), url);
  return { tiles: new URL(`${latest.prefix}/tiles.pmtiles`, root).href, latest };
}

function fill(legend) {
  if (!legend || !legend.colors || !legend.colors.length) return (legend && legend.no_data_color) || "#d9d9d9";
  return ["match", ["coalesce", ["get", "class"], -1], ...legend.colors.flatMap((c, i) => [i, c]), legend.no_data_color];
}

function addLayers(meta) {
  const map = api.map;
  const layer = LEVELS[(api.state && api.state.level) || 2];
  if (!map || (map.getLayer(FILL) && mode.layer === layer)) return;
  if (map.getLayer(FILL)) map.removeLayer(FILL);
  if (map.getLayer(LINE)) map.removeLayer(LINE);
  if (!map.getSource(SOURCE)) map.addSource(SOURCE, { type: "vector", url: `pmtiles://${mode.tiles}` });
  const before = map.getLayer("units-outline") ? "units-outline" : undefined;
  map.addLayer({ id: FILL, type: "fill", source: SOURCE, "source-layer": layer,
    paint: { "fill-color": fill((meta.legends || {})[layer]), "fill-opacity": 1 } }, before);
  map.addLayer({ id: LINE, type: "line", source: SOURCE, "source-layer": layer,
    paint: { "line-color": "#ffffff", "line-width": 0.6 } }, before);
  if (map.getLayer("units-fill")) map.setLayoutProperty("units-fill", "visibility", "none");
  mode.layer = layer;
}

async function init() {
  const src = new URLSearchParams(location.search).get("published");
  if (!src) return;
  const status = document.createElement("p");
  status.id = "published-status";
  status.className = "muted";
  status.setAttribute("role", "status");
  $("controls").append(status);
  try {
    const url = new URL(src, location.href);
    mode.url = url.href;
    const script = document.querySelector("script[data-pmtiles]");
    if (!window.pmtiles) await loadScript(script.dataset.pmtiles);
    const protocol = new window.pmtiles.Protocol();
    addProtocol("pmtiles", protocol.tile);
    const found = await archiveURL(url);
    mode.tiles = found.tiles;
    const archive = new window.pmtiles.PMTiles(found.tiles);
    protocol.add(archive);
    const meta = await archive.getMetadata();
    const info = meta.dtm_atlas || {};
    mode.version = info.data_version;
    mode.round = info.round || null;
    const rnd = mode.round;
    status.textContent = `Published round ${rnd ? rnd.round_number ?? rnd.reporting_date : "?"} `
      + `(${info.population || ""}, data version ${mode.version}), read from ${new URL(found.tiles).host} as PMTiles`;
    const attach = () => {
      const map = api.map;
      if (!map) { setTimeout(attach, 100); return; }
      const again = () => { try { addLayers(meta); } catch (err) { mode.error = err.message; } };
      map.on("styledata", again);  // app.js replaces the style when a choice changes
      map.on("idle", again);
      map.on("sourcedata", (e) => { if (e.sourceId === SOURCE && map.isSourceLoaded(SOURCE)) mode.ready = true; });
      again();
    };
    attach();
  } catch (err) {
    mode.error = err.message;
    status.textContent = `Published round: ${err.message}`;
    status.classList.add("error");
  }
}

init();
