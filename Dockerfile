# DTM Atlas: an image that runs `dtm-atlas serve --demo` (README, "Run it in a container").
#
#   ./dev image                       builds it here with buildah (a local debootstrap base, see
#                                     deploy/image/build) and checks it answers
#   docker build -t dtm-atlas .       elsewhere (Docker Hub's debian:bookworm-slim)
#   docker run --rm -p 8000:8000 -v /path/to/shared:/shared:ro dtm-atlas
#
# The demo reads the real data from the setting DTM_ATLAS_SHARED_DATA_DIR (/shared/data here):
# mount the folder `shared` (the one holding `data/`) at /shared. With no DATABASE_URL the service
# runs its own PostgreSQL/PostGIS cluster inside the container (in /app/.data, as the `postgres`
# user); with DATABASE_URL it uses that server instead (`docker run -e DATABASE_URL=postgresql://...`).
#
# Debian only: Debian's python3 (3.11) with a venv in /opt/venv (so pip as root is fine), Debian's
# nodejs/npm (Node 18) for the npm assets, Debian's PostgreSQL 15 + PostGIS 3, GDAL and Noto fonts.

# Behind a TLS-inspecting proxy: --build-arg EXTRA_CA_CERTS=<a CA bundle file visible to RUN steps>
# (deploy/image/build lends the host's bundle read-only; it is never stored in the image).

# --- the web map's and the static maps' JavaScript assets, and the label glyphs -------------------
# (a build stage: nothing of Node is kept in the image)
FROM debian:bookworm-slim AS assets
ARG EXTRA_CA_CERTS=
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates fonts-noto-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY web/package.json web/package-lock.json web/build-glyphs.js web/
COPY maps/package.json maps/package-lock.json maps/
# MapLibre GL JS, the RTL text plugin, Swagger UI and ReDoc (served from web/node_modules); Natural
# Earth countries (world-atlas) and Leaflet (maps/node_modules); the label glyphs from the Noto
# fonts (web/build/fonts, by fontnik's prebuilt linux-x64 binary). web/package.json asks for
# Node >= 20 (fontnik's `engines`); Debian's Node 18 runs all of it (npm only warns).
RUN if [ -n "$EXTRA_CA_CERTS" ]; then export NODE_EXTRA_CA_CERTS="$EXTRA_CA_CERTS"; fi \
 && cd web && npm ci --no-audit --no-fund --loglevel=error --omit=dev && node build-glyphs.js \
 && cd ../maps && npm ci --no-audit --no-fund --loglevel=error --omit=dev

# --- the service ---------------------------------------------------------------------------------
FROM debian:bookworm-slim
ARG EXTRA_CA_CERTS=
# PostgreSQL 15 + PostGIS 3 (the embedded cluster: no default cluster made at install), GDAL's
# tools (ogr2ogr: FlatGeobuf exports with a spatial index), Noto Sans and Noto Sans Arabic (the
# static maps embed them in their PDFs and PNGs), Python 3.11 with venv
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/no-main-cluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv ca-certificates \
      postgresql-15 postgresql-15-postgis-3 gdal-bin fonts-noto-core \
 && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
# the Python dependencies first (a layer that changes only with pyproject.toml)
COPY pyproject.toml ./
RUN python3 -m venv /opt/venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install --no-cache-dir ${EXTRA_CA_CERTS:+--cert "$EXTRA_CA_CERTS"} -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt
COPY README.md ./
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
RUN if [ -n "$EXTRA_CA_CERTS" ]; then export PIP_CERT="$EXTRA_CA_CERTS"; fi \
 && pip install --no-cache-dir --no-deps -e .
ENV DTM_ATLAS_SHARED_DATA_DIR=/shared/data \
    DTM_ATLAS_DATA_DIR=/app/.data
# the embedded cluster and the caches; mount a volume here to keep the database between runs
VOLUME /app/.data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=15m \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"
CMD ["dtm-atlas", "serve", "--demo", "--host", "0.0.0.0", "--port", "8000"]
