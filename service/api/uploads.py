"""Uploads without risk to the disk: ``POST /rounds`` (a master list as a round) and the
kinds' uploads (``POST /datasets``) through ``receive``.

The routes take no ``File``/``Form`` parameters: FastAPI would read and spool the whole body
before any dependency runs, so a client without a token could fill the disk before its 401.
Here the token is checked first (the ``Editor`` dependency needs no body), then the
multipart body is streamed (``python-multipart``'s push parser) straight into one file in
the data folder (``DATA_DIR/uploads``), counted as it arrives: over the limit it stops at
once (413). The file is removed on every way out (``finally``); files left by a killed
process are swept when the app starts (``sweep``: files of processes no longer running).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header

from service.api.common import PrimaryEngine
from service.api.params import INT4_MAX, ParamError, parse_country
from service.auth import Editor

router = APIRouter(tags=["figures"])

#: a form field other than the file (population, round, ...): a few characters
FIELD_LIMIT = 1024
FIELDS = {"population", "round", "date", "sheet", "placement", "country"}
#: multipart framing (boundaries, part headers) allowed beyond the file's own size limit
SLACK = 64 * 1024


def upload_dir(settings) -> Path:
    return Path(settings.data_dir) / "uploads"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(settings) -> int:
    """Remove uploads left by processes that are no longer running (a server killed in the
    middle of an upload). Returns how many files were removed."""
    folder = upload_dir(settings)
    removed = 0
    if not folder.is_dir():
        return 0
    for f in folder.glob("upload-*"):
        try:
            pid = int(f.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid() or _pid_alive(pid):
            continue
        if f.is_dir():  # a file under its own name (``named``)
            shutil.rmtree(f, ignore_errors=True)
        else:
            f.unlink(missing_ok=True)
        removed += 1
    return removed


@dataclass
class Upload:
    path: Path | None = None  # the "file" part
    name: str = "upload"  # its file name as sent
    size: int = 0  # bytes of every file part
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # every file part by its field name
    names: dict[str, str] = field(default_factory=dict)


@contextmanager
def named(path: Path, name: str) -> Iterator[Path]:
    """``path`` (an upload in its folder) moved to a folder of its own under its file name as
    sent, for importers whose messages name the file; removed when the block ends (and by
    ``sweep`` after a killed process)."""
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f"upload-{os.getpid()}-") as tmp:
        dest = Path(tmp) / (Path(name).name or "upload")
        os.replace(path, dest)
        yield dest


class _TooLarge(Exception):
    pass


@asynccontextmanager
async def receive(
    request: Request,
    limit: int,
    folder: Path,
    *,
    fields: set[str] = FIELDS,
    files: tuple[str, ...] = ("file",),
    what: str = "the master list",
) -> AsyncIterator[Upload]:
    """Stream the multipart body of ``request``: its file parts (``files``, one each; "file"
    required) into ``folder`` (at most ``limit`` bytes in all) and its small ``fields``. The
    files are removed when the block ends. ``what`` names the file in messages."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise ParamError("body", f"send {what} as multipart/form-data (a 'file' part and the form fields)")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and len(length) < 20 and int(length) > limit + SLACK:
        raise HTTPException(413, f"upload over the size limit of {limit // 2**20} MB")
    folder.mkdir(parents=True, exist_ok=True)
    up = Upload()
    state: dict = {"headers": {}, "field": None, "value": b"", "name": None, "out": None, "hname": b"", "hval": b""}
    total = {"n": 0}

    def on_part_begin():
        state.update(headers={}, field=None, value=b"", name=None, hname=b"", hval=b"")

    def on_header_field(data, start, end):
        state["hname"] += data[start:end]

    def on_header_value(data, start, end):
        state["hval"] += data[start:end]

    def on_header_end():
        state["headers"][state["hname"].lower()] = state["hval"]
        state["hname"], state["hval"] = b"", b""

    def on_headers_finished():
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        state["field"] = name
        if filename is not None and name in files:
            if name in up.files:
                raise ParamError(name, "send one file")
            sent = Path(filename.decode("utf-8", "replace")).name[:200] or "upload"
            suffix = "".join(Path(sent).suffixes[-2:]).lower()[:12]
            up.files[name] = folder / f"upload-{os.getpid()}-{uuid.uuid4().hex}{suffix}"
            up.names[name] = sent
            if name == "file":
                up.path, up.name = up.files[name], sent
            state["out"] = open(up.files[name], "wb")
        elif name not in fields:
            raise ParamError(name[:40], f"unknown form field; the fields are: {', '.join([*files, *sorted(fields)])}")

    def on_part_data(data, start, end):
        if state["out"] is not None:
            up.size += end - start
            if up.size > limit:
                raise _TooLarge
            state["out"].write(data[start:end])
        else:
            state["value"] += data[start:end]
            if len(state["value"]) > FIELD_LIMIT:
                raise ParamError(str(state["field"]), f"over {FIELD_LIMIT} bytes")

    def on_part_end():
        if state["out"] is not None:
            state["out"].close()
            state["out"] = None
        elif state["field"]:
            up.fields[state["field"]] = state["value"].decode("utf-8", "replace")

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        try:
            async for chunk in request.stream():
                total["n"] += len(chunk)
                if total["n"] > limit + SLACK:
                    raise _TooLarge
                parser.write(chunk)
            parser.finalize()
        except _TooLarge:
            raise HTTPException(413, f"{up.name}: upload over the size limit of {limit // 2**20} MB") from None
        except (ParamError, HTTPException):
            raise
        except Exception as exc:  # a malformed body
            raise ParamError(
                "body", f"the multipart body cannot be read ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
        if up.path is None:
            raise ParamError("file", f"no 'file' part: send {what} as the form field 'file'")
        yield up
    finally:
        if state["out"] is not None:
            state["out"].close()
        for path in up.files.values():
            path.unlink(missing_ok=True)


def editor_country(fields: dict[str, str], user, default: str | None = None) -> str | None:
    """The upload's ``country`` field (ISO3 or P-code prefix; absent: ``default``), which the
    editor's token must hold: 403 naming the countries it holds. An editor of some countries
    only names the country."""
    country = parse_country(fields.get("country")) or default
    if user.countries is not None:
        if country is None:
            raise ParamError("country", f"name the country: your token holds {', '.join(sorted(user.countries))}")
        if not user.covers(country):
            raise HTTPException(
                403, f"your token is an editor's for {', '.join(sorted(user.countries))} only, not for {country}"
            )
    return country


def _form(fields: dict[str, str], user) -> dict:
    """The form fields, checked like query parameters (400 naming the field)."""
    out: dict = {"country": editor_country(fields, user, "IRQ")}
    population = fields.get("population")
    if population not in ("idp", "returnee"):
        raise ParamError("population", "give idp or returnee")
    out["population"] = population
    rnd = fields.get("round", "").strip()
    if rnd:
        if not rnd.isdigit() or len(rnd) > 10 or int(rnd) > INT4_MAX:
            raise ParamError("round", f"a DTM round number from 0 to {INT4_MAX}, not {rnd[:20]!r}")
        out["round_number"] = int(rnd)
    d = fields.get("date", "").strip()
    if d:
        try:
            if len(d) != 10:
                raise ValueError(d)
            out["reporting_date"] = date.fromisoformat(d)
        except ValueError:
            raise ParamError("date", f"a reporting date YYYY-MM-DD, not {d[:20]!r}") from None
    if fields.get("sheet"):
        out["sheet"] = fields["sheet"]
    placement = fields.get("placement") or "declared"
    if placement not in ("declared", "spatial"):
        raise ParamError("placement", "declared or spatial")
    out["placement_mode"] = placement
    return out


def upload_responses(before: dict[int, str], middle: dict[int, str], cell: str) -> dict:
    """The answers of an upload route (OpenAPI ``responses``): ``before`` (its successes), the
    refusals every upload shares, ``middle`` (its own), then 413 and the 422 naming the file,
    row and ``cell`` ("field", "column")."""
    described = {
        **before,
        400: "A form field or the multipart body is wrong",
        401: "No or unknown token",
        403: "The token's role is not editor, or not for the country",
        **middle,
        413: "Over the upload size limit",
        422: f"The file cannot be imported (the message names the file, row and {cell})",
    }
    return {code: {"description": text} for code, text in described.items()}


def multipart_body(required: list[str], properties: dict) -> dict:
    """An upload route's OpenAPI request body (``openapi_extra``): a multipart form of
    ``properties``, ``required`` among them (the routes read the body themselves: ``receive``).
    No other field: ``receive`` answers 400 naming the fields (a misspelt one is never ignored)."""
    schema = {"type": "object", "required": required, "properties": properties, "additionalProperties": False}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


UPLOAD_OPENAPI = multipart_body(
    ["file", "population"],
    {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "Master list: CSV or XLSX (DTM wide, HXL or long format), also "
            "gzip-compressed (.csv.gz, .xlsx.gz) or a .zip holding one list; the size limit "
            "applies to the upload and to the list once decompressed",
        },
        "population": {"type": "string", "enum": ["idp", "returnee"]},
        "round": {"type": "integer", "minimum": 0, "maximum": INT4_MAX},
        "date": {"type": "string", "format": "date"},
        "sheet": {"type": "string", "maxLength": FIELD_LIMIT},
        "placement": {"type": "string", "enum": ["declared", "spatial"], "default": "declared"},
        "country": {
            "type": "string",
            "description": "ISO3 code of the country (or its P-code prefix); default IRQ",
            "maxLength": 3,
        },
    },
)


def _result(result) -> dict:
    return {
        "round_id": result.round_id,
        "round_number": result.round_number,
        "population": result.population,
        "reporting_date": result.reporting_date.isoformat(),
        "version": result.version,
        "held": result.held,
        "rows": result.rows,
        "flagged_rows": result.flagged_rows,
        "flags": result.flag_counts,
        "individuals": result.individuals,
        "families": result.families,
        "data_version": result.data_version,
        "quality": None if result.held else f"/rounds/{result.round_id}/quality",
        "row_issues": [
            {"row": i.row, "field": i.field, "code": i.code, "message": i.message[:300]}
            for i in result.parser_issues[:200]
        ],
        # P-code columns read as another level than they say, codes the boundaries do not hold
        **({"warnings": result.warnings} if result.warnings else {}),
    }


@router.post(
    "/rounds",
    status_code=201,
    summary="Upload a master list as a round (editor token)",
    openapi_extra=UPLOAD_OPENAPI,
    responses=upload_responses(
        {202: "Stored but HELD, not published (why: 'message'); confirm with POST /rounds/{ref}/confirm"},
        {409: "Another import of the same round is in progress"},
        "field",
    ),
)
async def upload_round(request: Request, engine: PrimaryEngine, user: Editor):
    """Import a master list as a round: a re-import of a date replaces the round, whose version is
    kept (``GET /rounds/{ref}/history``). A list that looks wrong (locations fallen by more than
    DTM_ATLAS_MAX_SHRINK, a file cut short) is stored as a held version (202), not published."""
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    from service.ingest.rounds import RoundBusy, import_masterlist

    settings = request.app.state.settings
    limit = settings.max_upload_mb * 1024 * 1024
    async with receive(request, limit, upload_dir(settings)) as up:
        options = _form(up.fields, user)
        try:  # MasterlistError, ImportRejected: 422 (service.api.errors)
            result = await run_in_threadpool(
                import_masterlist,
                engine,
                up.path,
                **options,
                max_bytes=min(limit, settings.imports.max_bytes),
                rules=settings.imports,
                username=user.subject,
                file_name=up.name,
                wait_for_round=False,
            )
        except RoundBusy as exc:
            raise HTTPException(409, str(exc)[:500]) from None
    body = _result(result)
    if result.held:
        ref = result.round_number if result.round_number is not None else result.reporting_date.isoformat()
        body["message"] = (
            f"{up.name}: HELD, not published: {result.held_reason}. Stored as version {result.version}; the round "
            f"that was published stands. If the list is right: POST /rounds/{ref}/confirm?population="
            f"{result.population}"
        )
        body["confirm"] = f"/rounds/{ref}/confirm?population={result.population}"
        return JSONResponse(body, status_code=202)
    return body
