# DTM Atlas: an image that runs `dtm-atlas serve --demo` (README, "Run it in Docker").
#
#   docker build -t dtm-atlas .
#   docker run --rm -p 8000:8000 -v /path/to/shared/data:/shared/data:ro dtm-atlas
#
# With no DATABASE_URL the service runs its own PostgreSQL/PostGIS cluster inside the container
# (in /app/.data, as the `postgres` user) and loads the real demo data from /shared/data; with
# DATABASE_URL it uses that server instead (`docker run -e DATABASE_URL=postgresql://...`).

# --- the web map's and the static maps' JavaScript assets, and the label glyphs -------------------
# (a full Node image: fontnik, which builds the glyphs, is a native module; nothing of Node is kept)
FROM node:20-bookworm AS assets
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY web/package.json web/package-lock.json web/build-glyphs.js web/
COPY maps/package.json maps/package-lock.json maps/
# MapLibre GL JS and the RTL text plugin (served from web/node_modules); Natural Earth countries
# (world-atlas) and Leaflet (maps/node_modules); the glyphs from the Noto fonts (web/build/fonts)
RUN cd web && npm ci --no-audit --no-fund --loglevel=error && node build-glyphs.js \
 && cd ../maps && npm ci --no-audit --no-fund --loglevel=error

# --- the service ---------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
# PostgreSQL 15 + PostGIS 3 (the embedded cluster: no default cluster made at install), GDAL's
# tools (ogr2ogr: FlatGeobuf exports with a spatial index), Noto Sans and Noto Sans Arabic (the
# static maps embed them in their PDFs and PNGs)
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/no-main-cluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 postgresql-15-postgis-3 gdal-bin fonts-noto-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# the Python dependencies first (a layer that changes only with pyproject.toml)
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt
COPY service service
COPY boundaries boundaries
COPY tiles tiles
COPY styles styles
COPY migrations migrations
COPY web web
COPY maps/package.json maps/package-lock.json maps/
COPY --from=assets /app/web/node_modules web/node_modules
COPY --from=assets /app/web/build web/build
COPY --from=assets /app/maps/node_modules maps/node_modules
# editable: the service finds web/, maps/ and its data next to its source (PROJECT_ROOT = /app)
RUN pip install --no-cache-dir --no-deps -e .
ENV DTM_ATLAS_SHARED_DATA_DIR=/shared/data \
    DTM_ATLAS_DATA_DIR=/app/.data
# the embedded cluster and the caches; mount a volume here to keep the database between runs
VOLUME /app/.data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=15m \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"
CMD ["dtm-atlas", "serve", "--demo", "--host", "0.0.0.0", "--port", "8000"]
