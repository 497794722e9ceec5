"""The master lists' flow map of round 120: the widths drawn in the SVG follow the families of
/flows/origins/lines, and the thickest line out of Ninewa goes to Sumail (Duhok) at district level."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from service.core.rounds import RoundRef, resolve_round
from service.flows import origin_map

SVG = "{http://www.w3.org/2000/svg}"


def _drawn(svg) -> dict[str, float]:
    out = {}
    for g in ET.parse(svg).getroot().iter(f"{SVG}g"):
        gid = g.get("id") or ""
        if gid.startswith("origin:"):
            path = g.find(f"{SVG}path")
            width = re.search(r"stroke-width:\s*([0-9.]+)", path.get("style"))
            out[gid] = float(width.group(1)) if width else 1.0  # (SVG's default width is not written)
    return out


def test_origin_flow_map_widths_follow_the_families(figures_engine, figures_client, tmp_path):
    with figures_engine.connect() as conn:
        rnd = resolve_round(conn, RoundRef(120), "idp")
    for level in (1, 2):
        res = origin_map.render_origins(
            figures_engine, rnd, level, tmp_path / str(level), dpi=40, formats=("svg", "png")
        )
        assert res.paths["png"].stat().st_size > 10_000
        drawn = _drawn(res.paths["svg"])
        fc = figures_client.get(f"/flows/origins/lines/{level}", params={"round": 120}).json()
        fams = {
            f"origin:{f['properties']['origin_adm1']}:{f['properties']['dest']}": f["properties"]
            for f in fc["features"]
        }
        assert set(drawn) == set(fams) and len(drawn) > 10
        top = max(p["families"] for p in fams.values())
        for gid, p in fams.items():
            assert abs(drawn[gid] - (1 + 11 * p["families"] / top)) < 0.02, gid
        ninewa = {gid: w for gid, w in drawn.items() if gid.startswith("origin:IQG15:") and fams[gid]["leaves"]}
        thickest = max(ninewa, key=ninewa.get)
        if level == 1:
            assert thickest == "origin:IQG15:IQG09"  # Duhok governorate
        else:
            assert fams[thickest]["dest_name"] == "Sumail" and fams[thickest]["dest_adm1"] == "IQG09"


def test_origin_flow_maps_are_the_flows_kinds_package_maps(figures_engine, tmp_path):
    """The registry hands the package the flows kind's maps of a round: round 120's IDP round has
    its two origin-flow maps (PNG and PDF, the PDF's text names the round); a returnee round none
    (the maps are of IDPs)."""
    import subprocess

    from service import kinds
    from service.core.registry import registry

    kinds.install()
    maps = registry().package_maps()
    assert "flows" in maps  # (the flows kind is public: its maps go into public packages)
    with figures_engine.connect() as conn:
        idp = resolve_round(conn, RoundRef(120), "idp")
        ret = resolve_round(conn, RoundRef(120), "returnee")
    paths = maps["flows"].write(figures_engine, idp, tmp_path / "idp", dpi=40)
    assert sorted(p.name for p in paths) == [
        f"origin_flows_r120_adm{level}.{ext}" for level in (1, 2) for ext in ("pdf", "png")
    ]
    pdf = next(p for p in paths if p.name == "origin_flows_r120_adm2.pdf")
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "governorate of origin" in words and "round 120" in words and "Sumail" in words
    assert maps["flows"].write(figures_engine, ret, tmp_path / "ret", dpi=40) == []
