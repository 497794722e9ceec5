"""One OpenAPI operation for routes that share a path and method.

Two routes may answer the same path when one only matches requests naming a query parameter
(``/choropleth/{level}.geojson?dataset=ID`` is an indicator dataset's choropleth, the same path
without ``dataset`` the master lists'; see ``service.indicators.api.DatasetRoute``). OpenAPI
has one operation per path and method, and FastAPI keeps the last route's, so the variant
vanished from ``/openapi.json``. :func:`install` merges them: the parameters of every route
(a parameter both have, with different schemas, becomes ``anyOf`` with both descriptions),
every route's responses and media types, and a description naming the variants.
"""

from __future__ import annotations

import copy
from collections import defaultdict

from fastapi import FastAPI, routing
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _operation(app: FastAPI, route, method: str) -> tuple[dict, dict]:
    spec = get_openapi(title=app.title, version=app.version, openapi_version=app.openapi_version, routes=[route])
    return spec["paths"][route.path_format][method], spec.get("components", {})


def _bare(schema: dict) -> dict:
    """A schema without its words (two routes' ``level`` differ only in their descriptions)."""
    return {k: v for k, v in schema.items() if k not in ("description", "title")}


def _merge_parameters(ops: list[tuple[str, dict]]) -> list[dict]:
    merged: dict[tuple[str, str], dict] = {}
    for label, op in ops:
        for p in op.get("parameters", []):
            key = (p["name"], p["in"])
            p = copy.deepcopy(p)
            if key not in merged:
                p["description"] = p.get("description", "")
                merged[key] = {"param": p, "labels": [label], "schemas": [p.get("schema", {})]}
                continue
            m = merged[key]
            m["labels"].append(label)
            if _bare(p.get("schema", {})) not in [_bare(x) for x in m["schemas"]]:
                m["schemas"].append(p.get("schema", {}))
                desc = p.get("description", "")
                if desc and desc not in m["param"]["description"]:
                    m["param"]["description"] = (m["param"]["description"] + f" ({label}: {desc})").strip()
            m["param"]["required"] = m["param"].get("required", False) and p.get("required", False)
    out = []
    n = len(ops)
    for m in merged.values():
        p = m["param"]
        if len(m["schemas"]) > 1:
            p["schema"] = {"anyOf": m["schemas"]}
        if len(m["labels"]) < n:  # only some variants read it: never required of all
            p["required"] = False
            p["description"] = (p["description"] + f" [{', '.join(m['labels'])} only]").strip()
        out.append(p)
    return out


def _merge_responses(ops: list[tuple[str, dict]]) -> dict:
    out: dict[str, dict] = {}
    for label, op in ops:
        for status, resp in op.get("responses", {}).items():
            if status not in out:
                out[status] = copy.deepcopy(resp)
                continue
            have = out[status]
            desc = resp.get("description", "")
            if desc and desc not in have.get("description", ""):
                have["description"] = f"{have.get('description', '')}; {label}: {desc}"
            for media, body in resp.get("content", {}).items():
                have.setdefault("content", {}).setdefault(media, copy.deepcopy(body))
    return out


def merge(app: FastAPI, spec: dict) -> dict:
    """``spec`` with one merged operation wherever several routes share a path and method."""
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for route in routing.iter_route_contexts(app.routes):  # included routers' routes as the app has them
        if isinstance(route.original_route, APIRoute) and getattr(route, "include_in_schema", False):
            for method in route.methods or ():
                groups[(route.path_format, method.lower())].append(route)
    for (path, method), routes in groups.items():
        if len(routes) < 2 or method not in METHODS:
            continue
        ops: list[tuple[str, dict]] = []
        for route in routes:
            op, components = _operation(app, route, method)
            for section, items in components.items():
                spec.setdefault("components", {}).setdefault(section, {}).update(items)
            original = route.original_route
            ops.append((getattr(original, "variant", None) or original.summary or original.name, op))
        # the route matching everything (the last one) is the operation; the others are variants of it
        base = copy.deepcopy(ops[-1][1])
        variants = "\n".join(
            f"- **{label}**: {op.get('summary', '')}. {op.get('description', '')}".rstrip() for label, op in ops
        )
        base["summary"] = " / ".join(op.get("summary", "") for _, op in ops)
        base["description"] = "This path answers several requests:\n\n" + variants
        base["parameters"] = _merge_parameters(ops)
        base["responses"] = _merge_responses(ops)
        spec["paths"][path][method] = base
    return spec


def install(app: FastAPI) -> None:
    """Make ``app.openapi`` merge the operations of routes that share a path (built once)."""
    plain = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = merge(app, plain())
        return app.openapi_schema

    app.openapi = openapi
