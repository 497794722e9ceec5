#!/usr/bin/env node
// Builds the web map's label glyphs: SDF glyph ranges (MapLibre's /fonts/{fontstack}/{range}.pbf)
// made by fontnik from Debian's Noto fonts (package fonts-noto-core), into web/build/fonts/
// (git-ignored). A fontstack is several fonts composited range by range, the first font's
// glyphs first: "Noto Sans Regular" = Noto Sans (Latin, Greek, Cyrillic) + Noto Sans Arabic
// (Arabic, with its presentation forms, which the RTL text plugin shapes Arabic labels into).
//   node build-glyphs.js [FONT_DIR]     (default /usr/share/fonts/truetype/noto)
// Skips the work when the fonts and this script are unchanged since the last build.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const fontnik = require("fontnik");

const FONT_DIR = process.argv[2] || process.env.DTM_ATLAS_FONT_DIR || "/usr/share/fonts/truetype/noto";
const OUT = path.join(__dirname, "build", "fonts");
const STACKS = {
  "Noto Sans Regular": ["NotoSans-Regular.ttf", "NotoSansArabic-Regular.ttf"],
  "Noto Sans Bold": ["NotoSans-Bold.ttf", "NotoSansArabic-Bold.ttf"],
};

const range = (font, start) => new Promise((resolve, reject) =>
  fontnik.range({ font, start, end: start + 255 }, (err, pbf) => (err ? reject(err) : resolve(pbf))));
const composite = (pbfs) => new Promise((resolve, reject) =>
  fontnik.composite(pbfs, (err, pbf) => (err ? reject(err) : resolve(pbf))));

async function main() {
  const files = {};
  for (const names of Object.values(STACKS)) {
    for (const name of names) {
      const file = path.join(FONT_DIR, name);
      if (!fs.existsSync(file)) {
        console.error(`build-glyphs.js: ${file} is missing: install Debian's fonts-noto-core (apt-get install fonts-noto-core)`);
        process.exit(1);
      }
      files[name] = fs.readFileSync(file);
    }
  }
  const hash = crypto.createHash("sha256").update(fs.readFileSync(__filename));
  for (const name of Object.keys(files).sort()) hash.update(name).update(files[name]);
  const want = hash.digest("hex");
  const stamp = path.join(OUT, ".built");
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want) return;
  console.log(`==> building the map's label glyphs from ${FONT_DIR} (fontnik) into web/build/fonts`);
  fs.rmSync(OUT, { recursive: true, force: true });
  for (const [stack, names] of Object.entries(STACKS)) {
    const dir = path.join(OUT, stack);
    fs.mkdirSync(dir, { recursive: true });
    for (let start = 0; start < 65536; start += 256) {
      const parts = await Promise.all(names.map((n) => range(files[n], start)));
      fs.writeFileSync(path.join(dir, `${start}-${start + 255}.pbf`), await composite(parts));
    }
  }
  fs.writeFileSync(stamp, want);
}

main().catch((err) => { console.error(`build-glyphs.js: ${err.message || err}`); process.exit(1); });
