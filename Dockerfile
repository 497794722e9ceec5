# DTM Atlas service image. Uses an external PostGIS through DATABASE_URL.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gdal-bin && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service service
COPY boundaries boundaries
COPY tiles tiles
COPY styles styles
COPY migrations migrations
RUN pip install --no-cache-dir .
ENV DTM_ATLAS_HOST=0.0.0.0 DTM_ATLAS_PORT=8000
EXPOSE 8000
CMD ["dtm-atlas", "serve"]
