"""The OpenAPI document tells what the service really answers (installed by ``create_app``).

FastAPI documents a 422 "Validation Error" with its own body on every operation; the service
answers a parameter it does not accept with **400** and ``{"status", "detail"}``
(``service.api.errors``). This pass rewrites the generated document once, for every operation
of every kind (routes added later included), from facts that hold for the whole service:

- 400 (a parameter not accepted), 404 (an unknown round, unit, collection, dataset... or a path
  segment over the length limit, ``service.api.limits``), 414 (a query string over the limit),
  503 (database unreachable, ``Retry-After``): the error body ``Error``;
- 422 only where a request body is read (a file whose content cannot be used), with ``Error``;
- 401 everywhere (who asks is read from a bearer token), 403 where a role is needed (writes);
- 429 (+ ``Retry-After``) everywhere (failed sign-ins) and for the renders of ``service.api.queue``;
- media types: ``?f=html`` answers ``text/html``; GeoJSON answers ``application/geo+json``;
  vector tiles ``application/vnd.mapbox-vector-tile`` and a 204 for an empty tile; ``/metrics``
  is Prometheus text; a JSON body a ``Response`` class documents as a string is an object. A
  route that declares its own answers keeps them (they are merged).
"""

from __future__ import annotations

import re

from fastapi import FastAPI

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["status", "detail"],
    "properties": {"status": {"type": "integer"}, "detail": {"type": "string"}},
}
DTM_ERROR_SCHEMA = {  # the DTM-API-compatible routes answer in DTM's envelope
    "title": "DtmError",
    "type": "object",
    "required": ["isSuccess", "statusCode", "errorMessages"],
    "properties": {
        "isSuccess": {"type": "boolean"},
        "statusCode": {"type": "integer"},
        "errorMessages": {"type": "array", "items": {"type": "string"}},
    },
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
ERRORS = {
    "400": "a parameter or request that is not accepted (the detail names it and what is accepted)",
    "404": "no such round, unit, collection, dataset or file (or a path segment over the length limit)",
    "414": "the query string is over the length limit",
    "503": "the database is unreachable (try again after Retry-After seconds)",
}
GEOJSON = re.compile(
    r"(\.geojson$|^/locations$|^/sites$|^/admin-units/\{pcode\}$|/lines(/|$)|^/flows/points$"
    r"|^/ogc/collections/\{collection_id\}/items(/\{feature_id\})?$|/locations$)"
)
TILES = re.compile(r"\.(mvt|pbf)$")
RENDERS = re.compile(r"^/(maps|packages)/|^/datasets/\{dataset_id\}/map\.png$")
TEXT = {"/metrics": "text/plain; version=0.0.4"}


def _any_case(code: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in code)


def _trie(words: list[str]) -> str:
    """One regular expression matching exactly ``words`` (any case), as a trie: generators
    (hypothesis) and validators walk it far faster than hundreds of alternatives."""
    tree: dict = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [_any_case(ch) + emit(node[ch]) for ch in sorted(k for k in node if k)]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(" + "|".join(alts) + ")"
        return f"({body})?" if "" in node else body

    return emit(tree)


def country_code_schema() -> dict:
    """Every code ``?country=`` accepts (service.api.params.parse_country): an ISO 3166-1 alpha-3
    code or its alpha-2 (the P-code prefix), in any case -- as a pattern, since JSON Schema has
    no case-insensitive enum. A code that exists but has no data is a 404, not a 400."""
    import pycountry

    codes = sorted({c.alpha_3 for c in pycountry.countries} | {c.alpha_2 for c in pycountry.countries})
    return {
        "type": "string",
        "title": "CountryCode",
        "description": "ISO 3166-1 alpha-3 (IRQ) or alpha-2 / P-code prefix (IQ), any case",
        "pattern": "^" + _trie(codes) + "$",
    }


COUNTRY_REF = {"$ref": "#/components/schemas/CountryCode"}
ALL_SCHEMA = {"type": "string", "pattern": "^" + _any_case("all") + "$"}
ROUND_SCHEMA = {"anyOf": [{"type": "string", "pattern": "^[0-9]{1,9}$"}, {"type": "string", "format": "date"}]}
PCODE_PATTERN = "^[A-Za-z]{2}[A-Za-z0-9_ -]*$"  # any common form (IQG07Q02, IRQ-G07Q02, iqg07q02)


def _narrow(schema: dict, extra: dict) -> dict:
    """``schema`` with its string branch replaced by ``extra`` (an optional parameter keeps null)."""
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "string"]
        out = {k: v for k, v in schema.items() if k != "anyOf"}
        extra_branches = extra["anyOf"] if "anyOf" in extra else [{"type": "string", **extra}]
        out["anyOf"] = extra_branches + branches
        return out
    if schema.get("type") == "string":
        if "anyOf" in extra:
            return {k: v for k, v in schema.items() if k != "type"} | extra
        return schema | extra
    return schema


def _parameters(op: dict) -> None:
    """What a parameter accepts, where the service checks more than its type says: rounds (a
    number or a date), P-codes, days (YYYY-MM-DD)."""
    for p in op.get("parameters", []):
        if not isinstance(p, dict) or "schema" not in p:
            continue
        name, desc = p.get("name"), str(p.get("description") or p["schema"].get("description") or "")
        if name in ("round", "ref"):
            p["schema"] = _narrow(p["schema"], ROUND_SCHEMA)
        elif name in ("pcode", "parent"):
            p["schema"] = _narrow(p["schema"], {"pattern": PCODE_PATTERN})
        elif "YYYY-MM-DD" in desc and "pattern" not in p["schema"]:  # (a pattern says more)
            p["schema"] = _narrow(p["schema"], {"format": "date"})
        elif name == "country" and p.get("in") == "query":
            codes = {"anyOf": [COUNTRY_REF, ALL_SCHEMA] if "'all'" in desc else [COUNTRY_REF]}
            p["schema"] = _narrow(p["schema"], codes)


def _error_content(path: str) -> dict:
    schema = DTM_ERROR_SCHEMA if path.startswith(("/v2/", "/v3/")) else ERROR_SCHEMA
    return {"application/json": {"schema": schema}}


def _has_token_dependency(op: dict) -> bool:
    return bool(op.get("security")) or op.get("requestBody") is not None


def _form_fields_not_null(doc: dict, op: dict) -> None:
    """A multipart form has no null: an optional field is one that may be left out, so the null
    branch FastAPI gives an ``Optional`` form field is dropped (sent, it would be the text 'null')."""
    schema = (((op.get("requestBody") or {}).get("content") or {}).get("multipart/form-data") or {}).get("schema")
    if not schema:
        return
    if "$ref" in schema:
        schema = doc.get("components", {}).get("schemas", {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
    for prop in (schema.get("properties") or {}).values():
        branches = prop.get("anyOf")
        if branches and any(b.get("type") == "null" for b in branches):
            kept = [b for b in branches if b.get("type") != "null"]
            prop.pop("anyOf")
            if len(kept) == 1:
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept
            if prop.get("default", 0) is None:
                prop.pop("default")


def truthful(doc: dict) -> dict:
    doc.setdefault("components", {}).setdefault("schemas", {})["CountryCode"] = country_code_schema()
    for path, methods in doc.get("paths", {}).items():
        for method, op in methods.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            _parameters(op)
            _form_fields_not_null(doc, op)
            params = {p.get("name") for p in op.get("parameters", []) if isinstance(p, dict)}
            body = op.get("requestBody") is not None
            val = responses.pop("422", None)
            if body:
                val = val if val and "HTTPValidationError" not in str(val) else {}
                responses["422"] = {
                    "description": val.get("description") or "the file's content cannot be used",
                    "content": _error_content(path),
                }
            for code, text in ERRORS.items():
                entry = responses.setdefault(code, {"description": text})
                entry.setdefault("content", _error_content(path))
                if code == "503":
                    entry.setdefault("headers", RETRY_AFTER)
            # who asks is read from a bearer token on every route (service.auth.principal): a token
            # that signs no one in is a 401; failed sign-ins from one address, a 429
            responses.setdefault("401", {"description": "a bearer token that signs no one in"}).setdefault(
                "content", _error_content(path)
            )
            if _has_token_dependency(op) or method in ("post", "put", "patch", "delete"):
                responses.setdefault("403", {"description": "the token's role may not do this"}).setdefault(
                    "content", _error_content(path)
                )
            text_429 = "too many failed sign-ins from this address" + (
                "; or too many renders at once (DTM_ATLAS_RENDER_QUEUE)" if RENDERS.search(path) else ""
            )
            entry = responses.setdefault("429", {"description": f"{text_429}: try again after Retry-After"})
            entry.setdefault("content", _error_content(path))
            entry.setdefault("headers", RETRY_AFTER)
            for answer in responses.values():  # a Response class documents its JSON body as a string
                for media, spec in (answer.get("content") or {}).items():
                    if media.endswith("json") and spec.get("schema") == {"type": "string"}:
                        spec["schema"] = {"type": "object"}
            ok = responses.get("200")
            if ok is None:
                continue
            content = ok.setdefault("content", {})
            json_schema = (content.get("application/json") or {}).get("schema", {})
            if "f" in params:
                content.setdefault("text/html", {"schema": {"type": "string"}})
            if GEOJSON.search(path):
                content.setdefault("application/geo+json", {"schema": json_schema} if json_schema else {})
            if TILES.search(path):
                if content.get("application/json") == {"schema": {}} or not json_schema:
                    content.pop("application/json", None)
                content.setdefault(
                    "application/vnd.mapbox-vector-tile", {"schema": {"type": "string", "format": "binary"}}
                )
                responses.setdefault("204", {"description": "an empty tile (nothing in it)"})
            if path in TEXT:
                content.pop("application/json", None)
                content[TEXT[path]] = {"schema": {"type": "string"}}
    schemas = doc.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and unused not in str(doc.get("paths")):
            schemas.pop(unused)
    return doc


def install(app: FastAPI) -> None:
    """``app.openapi()`` answers the corrected document (built once, on first request) over the
    document the app had (install it last: it corrects what the others made)."""
    plain = app.openapi

    def openapi() -> dict:
        if getattr(app.state, "openapi_truth", None) is None:
            app.state.openapi_truth = truthful(plain())
            app.openapi_schema = app.state.openapi_truth
        return app.state.openapi_truth

    app.openapi = openapi
