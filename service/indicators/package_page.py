"""An indicator dataset's page of a round's information package (``maps/indicators/`` in the
package; the registry's ``Kind.package_maps`` seam, ``service.core.registry.PackageMaps``).

A page per public dataset of the country's round (its DTM number in the dataset's round label,
else its reporting date): a one-page A4 landscape PDF with the site map (the sites or locations
as proportional symbols over the admin-1 units, ``service.indicators.sitemap``) and the figures
per admin-1 unit as the public choropleth publishes them (small cells suppressed, the rule
printed), plus the map as a PNG. A package is a public output: only what anonymous readers may
see (the access policy) goes in.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, text

from service.core.access import ANONYMOUS, decide
from service.core.constants import UNASSIGNED
from service.core.disclosure import MARKER, Rule, current_rule
from service.indicators import publish

MAX_ROWS = 24  # admin-1 units listed on the page (the largest first); the rest in one line


def _round_number(label: str | None) -> int | None:
    m = re.search(r"\d+", label or "")
    return int(m.group()) if m else None


class DatasetMaps:
    """The indicator datasets' pages of a round (``service.core.registry.PackageMaps``)."""

    access = "public"  # only datasets an editor published go in (the policy, for anonymous readers)

    def __init__(self, rule: Rule | None = None):
        self.rule = rule  # None: the rule that applies now (the request's, else the settings')

    def has_maps(self, conn: Connection, round_row: dict) -> dict | None:
        """The round as the first of its datasets has it (date, boundaries' source), None: none."""
        found = self.pages(conn, round_row)
        if not found:
            return None
        return {"reporting_date": found[0]["reporting_date"], "boundary_source": found[0]["boundary_source"]}

    def write(self, engine, round_row: dict, folder: Path, *, dpi: int) -> list[Path]:
        """A page per public dataset of the round (its DTM number, else its date) into ``folder``.
        Called once per population's round of the same date: a page written already is kept."""
        out = []
        with engine.connect() as conn:
            for page in self.pages(conn, round_row):
                out += self.write_page(conn, page, folder, dpi=dpi)
        return out

    def pages(self, conn: Connection, round_row: dict) -> list[dict]:
        """The public datasets of the round's country whose round label has the round's number or
        whose reporting date is the round's."""
        country, round_number = round_row["country"], round_row.get("round_number")
        reporting_date = round_row.get("reporting_date")
        found = []
        for d in publish.datasets(conn, ANONYMOUS):
            res = publish.resource(conn, d["id"])
            if d["country"] != country or res is None or not decide(ANONYMOUS, res).allowed:
                continue
            day = date.fromisoformat(d["reporting_date"]) if d["reporting_date"] else None
            same = (round_number is not None and _round_number(d["round_label"]) == round_number) or (
                reporting_date is not None and day == reporting_date
            )
            if same:
                source = conn.execute(
                    text(
                        "SELECT b.source FROM indicator_dataset d JOIN boundary_set b ON b.id = d.boundary_set_id "
                        "WHERE d.id = :d"
                    ),
                    {"d": d["id"]},
                ).scalar()
                found.append({**d, "reporting_date": day, "boundary_source": source})
        return found

    def write_page(self, conn: Connection, page: dict, folder: Path, *, dpi: int = 300) -> list[Path]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from service.indicators.sitemap import SOURCE_NOTE, draw_site_map

        folder.mkdir(parents=True, exist_ok=True)
        ds_id = page["id"]
        day = page["reporting_date"]
        tag = f"{(page['round_label'] or 'd').lower()}_{day.strftime('%Y%m%d') if day else 'nodate'}"
        base = f"{page['country'].lower()}_dtm_dataset{ds_id}_{page['unit']}_map_{tag}"
        out = [folder / f"{base}.pdf", folder / f"{base}.png"]
        if all(p.exists() for p in out):
            return out
        rule = self.rule or current_rule()
        rows, national, hidden, label = self._figures(conn, ds_id, rule)
        with plt.rc_context({"pdf.fonttype": 42}):  # text stays text in the PDF (extractable)
            fig = plt.figure(figsize=(11.69, 8.27), dpi=dpi)
            try:
                ax = fig.add_axes((0.02, 0.08, 0.6, 0.8))
                d, n, symbol = draw_site_map(ax, conn, ds_id, who=ANONYMOUS)
                when = f"{d['round_label'] or ''} ({day.isoformat() if day else 'no date'})".strip()
                fig.text(0.02, 0.95, f"Site map: {d['title']}", fontsize=15, weight="bold")
                fig.text(
                    0.02,
                    0.915,
                    f"{d['country']} {when}: {n} {d['unit']}s as proportional symbols (area = {symbol}) "
                    "over admin-1 units",
                    fontsize=9,
                )
                lines = [f"{label} per admin-1 unit", ""]
                lines += [f"{name[:26]:<26} {value:>12}" for name, value in rows[:MAX_ROWS]]
                if len(rows) > MAX_ROWS:
                    lines.append(f"... and {len(rows) - MAX_ROWS} more units")
                lines += ["", f"{'National':<26} {national:>12}"]
                fig.text(0.64, 0.86, "\n".join(lines), fontsize=8, family="DejaVu Sans Mono", va="top")
                note = SOURCE_NOTE
                if hidden:
                    note += f" {hidden} unit(s) suppressed ('{MARKER}'). {rule.text()}"
                fig.text(0.02, 0.02, note, fontsize=6, wrap=True)
                meta = {"Title": f"Site map: {d['title']}"}  # the package's catalogue reads it
                fig.savefig(folder / f"{base}.pdf", format="pdf", metadata=meta)
                fig.savefig(folder / f"{base}.png", format="png", dpi=min(dpi, 200), metadata=meta)
            finally:
                plt.close(fig)
        return out

    def _figures(self, conn: Connection, ds_id: int, rule: Rule) -> tuple[list[tuple[str, str]], str, int, str]:
        """(name, published value) per admin-1 unit with data, the national value, how many were
        suppressed, the indicator's label: what every public path publishes (``publish.public_table``)."""
        cols = {c["id"]: c for c in publish.indicators(conn, ds_id, ANONYMOUS)}
        ind = "individuals" if "individuals" in cols else next(iter(cols))
        col = cols[ind]
        table = publish.public_table(conn, ds_id, rule)  # the one published table of the dataset
        published = {p: v for p, v in table.level(1, ind).items() if v is not None or (1, p) in table.hidden}
        hidden = table.hidden_at(1) & set(published)
        names = dict(
            conn.execute(
                text(
                    "SELECT u.pcode, coalesce(u.name_en, u.pcode) FROM admin_unit u JOIN indicator_dataset d "
                    "ON d.boundary_set_id = u.boundary_set_id WHERE d.id = :d AND u.level = 1"
                ),
                {"d": ds_id},
            ).all()
        )
        rows = []
        for pcode, value in sorted(published.items(), key=lambda kv: -(kv[1] or 0)):
            shown = MARKER if pcode in hidden else "–" if value is None else f"{value:,.0f}"
            rows.append(("Not placed" if pcode == UNASSIGNED else names.get(pcode, pcode), shown))
        national = next((v for (lvl, _, c), v in table.values.items() if lvl == 0 and c == ind), None)
        country_hidden = any(lvl == 0 for lvl, _ in table.hidden)
        total = MARKER if country_hidden else "–" if national is None else f"{national:,.0f}"
        return rows, total, len(hidden), col["label_en"]
