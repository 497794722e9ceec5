"""``/ogc/api``: the OpenAPI 3.0 definition of the OGC API - Features alone, relative to ``/ogc``.

The service's own definition (``/openapi.json``, OpenAPI 3.1) names the OGC paths
``/ogc/collections/{collection_id}/items``; OGC clients look for
``/collections/{collectionId}/items`` under the landing page, in an OpenAPI 3.0 document
(GDAL's OAPIF driver reads the ``filter-lang`` values there to decide whether a ``-where``
can be sent to the server). This document is derived from the service's own: the ``/ogc``
paths, the prefix moved to ``servers``, ``{collection_id}`` spelled ``{collectionId}``, the
parameters' ``anyOf [T, null]`` written as 3.0's ``nullable``.
"""

from __future__ import annotations

import copy

from fastapi import Request

OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
PREFIX = "/ogc"


def _param_schema(schema: dict) -> dict:
    any_of = schema.get("anyOf")
    if any_of and {"type": "null"} in any_of:
        rest = [s for s in any_of if s != {"type": "null"}]
        out = {k: v for k, v in schema.items() if k != "anyOf"}
        out.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        out["nullable"] = True
        return out
    return schema


def ogc_openapi(request: Request) -> dict:
    full = request.app.openapi()
    base = str(request.base_url).rstrip("/")
    paths = {}
    for path, item in full.get("paths", {}).items():
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            continue
        item = copy.deepcopy(item)
        for op in item.values():
            for p in op.get("parameters", []):
                if p.get("name") == "collection_id":
                    p["name"] = "collectionId"
                if "schema" in p:
                    p["schema"] = _param_schema(p["schema"])
        rel = path[len(PREFIX) :] or "/"
        paths[rel.replace("{collection_id}", "{collectionId}")] = item
    return {
        "openapi": "3.0.3",
        "info": {**full.get("info", {}), "title": "DTM Atlas: OGC API - Features"},
        "servers": [{"url": base + PREFIX}],
        "paths": paths,
        "components": full.get("components", {}),
    }
