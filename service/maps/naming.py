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
"""

from __future__ import annotations

import datetime as dt


def map_base(*, country: str, population: str, level: int, indicator: str, extent: str, round_number: int,
             paper_code: str | None, date: dt.date) -> str:
    parts = [country.lower(), "dtm", population]
    if indicator != "individuals":
        parts.append(indicator)
    parts.append(f"adm{level}")
    if extent != "national":
        parts.append(extent.lower())
    parts.append(f"r{round_number}")
    if paper_code:
        parts.append(paper_code)
    parts.append(date.strftime("%Y%m%d"))
    return "_".join(parts)


def map_id(base: str) -> str:
    """``irq_dtm_idp_adm2_r120_A4L_20210228`` -> ``IRQ-DTM-IDP-ADM2-R120-A4L``."""
    head = base.rsplit("_", 1)[0]
    return head.upper().replace("_", "-")


def chart_base(kind: str, *, country: str, round_number: int, date: dt.date, population: str | None = None,
               level: int | None = None) -> str:
    parts = [country.lower(), "dtm"]
    if population:
        parts.append(population)
    parts.append(kind)
    if level is not None:
        parts.append(f"adm{level}")
    parts += [f"r{round_number}", date.strftime("%Y%m%d")]
    return "_".join(parts)
