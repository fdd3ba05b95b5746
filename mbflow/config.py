"""Where the server is and which key to use: flags first, then the environment
(``MBFLOW_URL``, ``MBFLOW_API_KEY``, ``MBFLOW_PROFILE``), then a profile file.

The profile file is TOML, at ``MBFLOW_CONFIG`` or ``~/.config/mbflow/config.toml``::

    profile = "staging"            # the profile used when none is named (else "default")

    [profiles.default]
    url = "http://localhost:8181"
    api_key = "mbf_..."

    [profiles.staging]
    url = "https://mbflow.staging.example.com"
    api_key = "mbf_..."
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mbflow.errors import MBFlowError

DEFAULT_URL = "http://localhost:8181"


class ConfigError(MBFlowError):
    """The profile file cannot be read, or names no such profile."""


def config_path() -> Path:
    given = os.environ.get("MBFLOW_CONFIG")
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mbflow" / "config.toml"


def _read_profiles(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read the profile file {path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Settings:
    url: str
    api_key: str | None
    profile: str | None
    url_given: bool  # named by a flag, the environment or a profile (not the built-in default)

    @classmethod
    def resolve(cls, url: str | None = None, api_key: str | None = None, profile: str | None = None) -> Settings:
        path = config_path()
        data = _read_profiles(path)
        profiles = data.get("profiles") or {}
        name = profile or os.environ.get("MBFLOW_PROFILE") or data.get("profile")
        if name and name not in profiles:
            raise ConfigError(f"No profile {name!r} in {path}")
        chosen = profiles.get(name or "default") or {}
        found_url = url or os.environ.get("MBFLOW_URL") or chosen.get("url")
        found_key = api_key or os.environ.get("MBFLOW_API_KEY") or chosen.get("api_key")
        if found_url and not str(found_url).lower().startswith(("http://", "https://")):
            source = "given" if url else "in MBFLOW_URL" if os.environ.get("MBFLOW_URL") else f"of profile {name!r}"
            raise ConfigError(f"The server URL {found_url!r} {source} needs its scheme: http://... or https://...")
        return cls(url=str(found_url or DEFAULT_URL), api_key=str(found_key) if found_key else None,
                   profile=name or ("default" if chosen else None), url_given=bool(found_url))
