"""The method card of a run: generated from the stored method and the run's inputs and
summary (Markdown for exports, HTML at ``GET /fragility/method``). Nothing in it is typed by
hand: purpose, limits and disclaimer come from the method file, the rest from the run.
"""

from __future__ import annotations

import html

from styles.fragility import legend


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def sections(run: dict) -> list[tuple[str, list]]:
    """(title, blocks) where a block is a paragraph string or a table (header, rows)."""
    m = run["method"]
    inputs = run["inputs"]
    src = inputs.get("sources", {})
    summ = run["summary"]
    dims = {d["id"]: d for d in m["dimensions"]}
    out: list[tuple[str, list]] = []
    out.append(("Purpose", [m["purpose"]]))
    out.append(("Limits", [m["limits"]]))
    out.append(
        (
            "Indicators",
            [
                (
                    [
                        "indicator",
                        "dimension",
                        "source",
                        "direction",
                        "transform",
                        "goalposts (min – max)",
                        "weight",
                        "when undefined",
                    ],
                    [
                        [
                            f"{i['label']} ({i['id']})",
                            dims[i["dimension"]]["label"],
                            f"{i['source']}: {i['column']}" if i["column"] else i["source"],
                            i["direction"].replace("_", " "),
                            i["transform"],
                            f"{_fmt(i['goalposts']['min'])} – {_fmt(i['goalposts']['max'])}",
                            _fmt(i["weight"]),
                            _fmt(i.get("when_undefined")),
                        ]
                        for i in m["indicators"]
                    ],
                )
            ]
            + [f"{i['label']}: {i['description']}" for i in m["indicators"] if i.get("description")],
        )
    )
    out.append(
        (
            "Dimensions and aggregation",
            [
                (
                    ["dimension", "weight", "indicators"],
                    [
                        [
                            d["label"],
                            _fmt(d["weight"]),
                            ", ".join(i["id"] for i in m["indicators"] if i["dimension"] == d["id"]),
                        ]
                        for d in m["dimensions"]
                    ],
                ),
                "Each indicator is rescaled to 0-100 between its goalposts (after the transform; values outside are "
                "clamped; 100 = most fragile, flipped when higher is better). Within a dimension: weighted "
                f"{m['aggregation']['within'].replace('_', ' ')}. Across dimensions: weighted "
                f"{m['aggregation']['across'].replace('_', ' ')} with shift {_fmt(m['aggregation']['shift'])} "
                "(exp(Σ w ln(s + c) / Σ w) − c: one dimension at 0 lowers the index without zeroing it).",
            ],
        )
    )
    share = m["missing"]["min_indicator_share"]
    out.append(
        (
            "Rules",
            [
                f"Missing data: a dimension needs at least {share:.0%} of its indicators; otherwise the unit is "
                '"insufficient data" (no index, no class). Completeness = indicators available / indicators, per unit.',
                f"Hotspot: class ≥ {m['hotspot']['min_class']}"
                + "".join(f" and {c['variable']} ≥ {_fmt(c['min'])}" for c in m["hotspot"]["all_of"])
                + (f" ({m['hotspot']['description']})" if m["hotspot"].get("description") else "")
                + ".",
                "Districts and governorates: the residents-weighted mean of their sub-districts with sufficient data.",
            ],
        )
    )
    leg = legend(m["classes"]["thresholds"], m["classes"]["labels"], summ.get("class_counts"))
    out.append(
        (
            "Classes (fixed thresholds)",
            [
                (
                    ["class", "index range", "colour", "sub-districts"],
                    [[c["label"], c["range"] or "—", c["color"], _fmt(c["count"])] for c in leg["classes"]],
                ),
                leg["rule"] + ".",
            ],
        )
    )
    dtm = src.get("dtm", {})
    rows = []
    for key, label in (("idp_round", "IDP master list"), ("returnee_round", "Returnee master list")):
        r = dtm.get(key)
        rows.append(
            [label, "—" if r is None else f"round {r['round_number']}, {r['reporting_date']} ({r['source_file']})"]
        )
    pop = src.get("population")
    if pop:
        desc = f"{pop.get('label') or ''} — {pop['file']} (SHA-256 {pop['sha256'][:12]}…)"
        if pop["kind"] == "table":
            desc += (
                f"; {pop['rows_matched']} of {pop['rows']} rows matched ({len(pop.get('matched_by_spelling', []))} "
                f"by spelling), {pop['rows_unmatched']} unmatched; {pop['units_with_population']} of "
                f"{pop['units']} sub-districts have residents"
            )
        else:
            desc += (
                f"; {pop['raster_kind']} raster {pop['size'][0]}×{pop['size'][1]} in {pop['crs']}; "
                f"{pop['units_covered']} of {pop['units']} sub-districts covered whole"
            )
        rows.append(["Population", desc])
    for k, v in src.items():
        if k.startswith("dataset:"):  # an indicator of an imported dataset (the registry's unit source)
            rows.append(
                [
                    f"Dataset {v['dataset_id']}: {v['indicator']}",
                    f"{v['title']} — {v['file']} (SHA-256 {(v['sha256'] or '')[:12]}…), {v['aggregation']} per "
                    f"sub-district, {v['units']} sub-districts with a value",
                ]
            )
        if k.startswith("table:"):
            rows.append(
                [
                    f"Indicator table {v['id']}",
                    f"{v['file']} (SHA-256 {v['sha256'][:12]}…), key {v['key']}, "
                    f"{v['rows_used']} of {v['rows']} rows used, {v['rows_reported']} reported",
                ]
            )
    out.append(
        (
            "Data sources",
            [
                (["input", "what"], rows),
                f"{len(src.get('issues', []))} input rows reported (unmatched names or keys); "
                "the run's import-log entry lists them.",
            ],
        )
    )
    u = m["uncertainty"]
    out.append(
        (
            "Uncertainty",
            [
                f"{u['draws']} draws (seed {u['seed']}): every weight multiplied by a uniform factor in "
                f"[{1 - u['weight_spread']:g}, {1 + u['weight_spread']:g}], "
                "the aggregation across dimensions drawn among "
                f"{', '.join(c.replace('_', ' ') for c in u['across_choices'])}. Reported per unit: rank p5/p50/p95 "
                f"(1 = most fragile) and P(class ≥ {u['high_class']}).",
                f"This run: {summ['units_ok']} of {summ['units']} sub-districts with an index; median width of the "
                f"p5-p95 rank interval {_fmt(summ.get('median_rank_interval'))}; {summ.get('units_with_stable_class')} "
                f"sub-districts have P(high) ≤ 5 % or ≥ 95 %; {summ['hotspots']} hotspots.",
            ],
        )
    )
    out.append(
        (
            "Run",
            [
                (
                    ["", ""],
                    [
                        ["method", f"{m['id']} {m['version']} (SHA-256 {run['method_sha256'][:12]}…)"],
                        ["DTM round", str(run["round_number"])],
                        ["computed", str(run["computed_at"])],
                        ["fingerprint", run["fingerprint"][:16] + "…"],
                        ["stale", "yes" if run["stale"] else "no"],
                    ],
                )
            ],
        )
    )
    out.append(("Disclaimer", [m["disclaimer"]]))
    return out


def markdown(run: dict) -> str:
    m = run["method"]
    lines = [f"# {m['title']}", "", f"Method `{m['id']}` version {m['version']}, DTM round {run['round_number']}.", ""]
    for title, blocks in sections(run):
        lines += [f"## {title}", ""]
        for b in blocks:
            if isinstance(b, str):
                lines += [b, ""]
            else:
                header, rows = b
                esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
                lines.append("| " + " | ".join(esc(h) for h in header) + " |")
                lines.append("|" + "---|" * len(header))
                lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
                lines.append("")
    return "\n".join(lines)


def html_page(run: dict) -> str:
    m = run["method"]
    e = html.escape
    parts = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(m["title"])}</title>',
        "<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#252525}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;"
        "vertical-align:top}th{background:#f4f4f2}.sw{display:inline-block;width:1em;height:1em;"
        "border:1px solid #999;vertical-align:middle;margin-right:.3em}</style></head><body>",
        f"<h1>{e(m['title'])}</h1><p>Method <code>{e(m['id'])}</code> version {e(m['version'])}, "
        f'DTM round {run["round_number"]}. <a href="?round={run["round_number"]}&amp;f=md">Markdown</a></p>',
    ]
    for title, blocks in sections(run):
        parts.append(f"<h2>{e(title)}</h2>")
        for b in blocks:
            if isinstance(b, str):
                parts.append(f"<p>{e(b)}</p>")
            else:
                header, rows = b
                parts.append("<table><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr>")
                for r in rows:
                    cells = []
                    for c in r:
                        c = str(c)
                        if c.startswith("#") and len(c) == 7:
                            cells.append(f'<td><span class="sw" style="background:{e(c)}"></span>{e(c)}</td>')
                        else:
                            cells.append(f"<td>{e(c)}</td>")
                    parts.append("<tr>" + "".join(cells) + "</tr>")
                parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)
