"""Every setting is an environment variable in the README's configuration table."""

from __future__ import annotations

import re
from pathlib import Path

from service.core.settings import Settings, TileSettings

README = Path(__file__).resolve().parents[2] / "README.md"


def _variables(model, prefix: str) -> dict[str, set[str]]:
    out = {}
    for name, info in model.model_fields.items():
        if isinstance(info.default_factory, type) or name == "tiles":
            continue
        names = {f"{prefix}{name}".upper()}
        alias = info.validation_alias
        if alias is not None:
            names = {str(a).upper() for a in getattr(alias, "choices", [alias])}
        out[name] = names
    return out


def test_every_setting_is_in_the_readme_table():
    table = set(re.findall(r"`([A-Z_]+)`", README.read_text(encoding="utf-8")))
    variables = {
        **_variables(Settings, "DTM_ATLAS_"),
        **{f"tiles.{k}": v for k, v in _variables(TileSettings, "DTM_ATLAS_TILE_").items()},
    }
    missing = {field: names for field, names in variables.items() if not names & table}
    assert not missing, f"settings not documented in README.md: {missing}"
    assert "tiles" in Settings.model_fields  # the tile settings are nested, not read beside Settings
