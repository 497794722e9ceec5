"""Every setting is an environment variable in the README's configuration table."""

from __future__ import annotations

import re
from pathlib import Path

from service.core.settings import AuthSettings, DisclosureSettings, MapSettings, RenderSettings, Settings, TileSettings

NESTED = {
    "tiles": (TileSettings, "DTM_ATLAS_TILE_"),
    "auth": (AuthSettings, "DTM_ATLAS_AUTH_"),
    "disclosure": (DisclosureSettings, "DTM_ATLAS_DISCLOSURE_"),
    "maps": (MapSettings, "DTM_ATLAS_MAP_"),
    "render": (RenderSettings, "DTM_ATLAS_RENDER_"),
}
README = Path(__file__).resolve().parents[2] / "README.md"


def _variables(model, prefix: str) -> dict[str, set[str]]:
    out = {}
    for name, info in model.model_fields.items():
        if isinstance(info.default_factory, type) or name in NESTED:
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
        **{f"{n}.{k}": v for n, (model, prefix) in NESTED.items() for k, v in _variables(model, prefix).items()},
    }
    missing = {field: names for field, names in variables.items() if not names & table}
    assert not missing, f"settings not documented in README.md: {missing}"
    assert set(NESTED) <= set(Settings.model_fields)  # nested settings, not read beside Settings
