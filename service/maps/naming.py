"""File names and map IDs of the static maps, after the OCHA / MapAction convention
``{iso3}_{producer}_{subject}_{scope}_{round}_{paper}_{date}``:

* ``irq_dtm_idp_adm2_r120_A4L_20210228.pdf``: IDPs (individuals) by district, national, round
  120, A4 landscape, data of 28 Feb 2021 (the round's reporting date, not the day it was made);
* ``irq_dtm_returnee_adm3_iqg01_r120_A4L_20210228.png``: returnees by sub-district in the
  governorate IQG01 (Al-Anbar);
* ``irq_dtm_idp_change_adm2_r120_A3P_20210228.pdf``: another indicator than individuals is
  named after the population;
* charts: ``irq_dtm_trend_r120_20210228.png``, ``irq_dtm_idp_change_adm1_r120_20210228.png``;
  the interactive map of a static map has its name with ``.html``.

The map ID printed on the map is the same name in upper case with dashes, without the date
(``IRQ-DTM-IDP-ADM2-R120-A4L``), so a map and its reprints are easy to cite.

A round DTM's calendar does not number (most rounds before 2017) is named by its reporting date:
``d20150604`` where a numbered round has ``r120`` (``irq_dtm_idp_adm2_d20150604_A4L_20150604.pdf``,
map ID ``IRQ-DTM-IDP-ADM2-D20150604-A4L``: the ID, which drops the trailing date, still names
the round), and "round of 4 Jun 2015" where texts say "round 120" (``round_label``).
"""

from __future__ import annotations

import datetime as dt


def round_tag(round_number: int | None, date: dt.date) -> str:
    """The round's part of a file name: ``r120``; a round without a DTM number: ``d20150604``."""
    return f"r{round_number}" if round_number is not None else f"d{date.strftime('%Y%m%d')}"


def round_label(rnd: dict) -> str:
    """How texts name a round (a round row): ``round 120``; without a DTM number, by its
    reporting date: ``round of 4 Jun 2015``."""
    if rnd["round_number"] is not None:
        return f"round {rnd['round_number']}"
    d = rnd["reporting_date"]
    return f"round of {d.day} {d.strftime('%b %Y')}"


def map_base(
    *,
    country: str,
    population: str,
    level: int,
    indicator: str,
    extent: str,
    round_number: int | None,
    paper_code: str | None,
    date: dt.date,
) -> str:
    parts = [country.lower(), "dtm", population]
    if indicator != "individuals":
        parts.append(indicator)
    parts.append(f"adm{level}")
    if extent != "national":
        parts.append(extent.lower())
    parts.append(round_tag(round_number, date))
    if paper_code:
        parts.append(paper_code)
    parts.append(date.strftime("%Y%m%d"))
    return "_".join(parts)


def map_id(base: str) -> str:
    """``irq_dtm_idp_adm2_r120_A4L_20210228`` -> ``IRQ-DTM-IDP-ADM2-R120-A4L``."""
    head = base.rsplit("_", 1)[0]
    return head.upper().replace("_", "-")


def chart_base(
    kind: str,
    *,
    country: str,
    round_number: int | None,
    date: dt.date,
    population: str | None = None,
    level: int | None = None,
) -> str:
    parts = [country.lower(), "dtm"]
    if population:
        parts.append(population)
    parts.append(kind)
    if level is not None:
        parts.append(f"adm{level}")
    parts += [round_tag(round_number, date), date.strftime("%Y%m%d")]
    return "_".join(parts)
