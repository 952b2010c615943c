"""The generated ``mkdocs.yml``: standalone, or a user's own ``mkdocs.yml`` extended.

Only the subset that MkDocs, ProperDocs and Zensical all build (DESIGN.md decision 1): the
Material theme and its features, Python-Markdown extensions, the built-in search,
``extra_css``/``extra_javascript``. No hooks, no third-party plugins of ours. The nav is shallow:
detail pages are reached from tables, links and search, never listed (decision 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .urls import safe_title

ASSETS = "assets/mlreport/"
SECTIONS = (
    ("Models", "models/index.md"),
    ("Experiments", "experiments/index.md"),
    ("Runs", "runs/index.md"),
    ("Datasets", "datasets/index.md"),
    ("Problems", "problems/index.md"),
)
DETAIL_DIRS = ("models", "experiments", "runs", "datasets", "logged-models")


class Tagged:
    """A YAML node with a tag PyYAML's safe loader does not know (``!!python/name:…``,
    ``!ENV``): kept as it was so a user's ``mkdocs.yml`` round-trips."""

    def __init__(self, tag: str, value: Any) -> None:
        self.tag = tag
        self.value = value


class _Loader(yaml.SafeLoader):
    pass


def _construct_unknown(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Tagged(node.tag, value)


_Loader.add_multi_constructor("", _construct_unknown)


class _Dumper(yaml.SafeDumper):
    pass


def _represent_tagged(dumper: yaml.SafeDumper, data: Tagged) -> yaml.Node:
    if isinstance(data.value, list):
        return dumper.represent_sequence(data.tag, data.value)
    if isinstance(data.value, dict):
        return dumper.represent_mapping(data.tag, data.value)
    return dumper.represent_scalar(data.tag, str(data.value))


_Dumper.add_representer(Tagged, _represent_tagged)


def dump_yaml(data: Mapping[str, Any]) -> str:
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


def load_user_config(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe loader subclass
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"cannot read {path}: invalid YAML{where}") from None
    except RecursionError:  # the loader recurses per level (issue 11: an internal error before)
        raise ConfigError(f"cannot read {path}: invalid YAML: nested too deeply") from None
    except ValueError as exc:  # a 5,000-digit integer: the int-string limit
        raise ConfigError(f"cannot read {path}: invalid YAML: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"cannot read {path}: expected a mapping at the top")
    return data


def _assets(prefix: str) -> tuple[list[str], list[str]]:
    """The site's CSS and JavaScript: mlreport's own, then the runs tables' (runs-table.js)."""
    css, js = _extra_assets(prefix)
    return [*css, f"{prefix}{ASSETS}runs-table.css"], [*js, f"{prefix}{ASSETS}runs-table.js"]


def _nav(prefix: str, home_title: str = "Home") -> list[dict[str, str]]:
    return [{home_title: f"{prefix}index.md"}] + [{title: f"{prefix}{page}"} for title, page in SECTIONS]


def _not_in_nav(prefix: str) -> str:
    return "\n".join(f"/{prefix}{d}/*/" for d in DETAIL_DIRS[:-1]) + f"\n/{prefix}logged-models/\n"


def _extra_assets(prefix: str) -> tuple[list[str], list[str]]:
    # plotly.min.js (4.8 MB) is not listed: mlreport.js loads it from beside itself on the pages
    # that have a chart, so the other pages, and the user's own docs pages, never fetch it.
    return [f"{prefix}{ASSETS}mlreport.css"], [f"{prefix}{ASSETS}mlreport.js"]


def standalone_config(title: str, site_url: str | None, docs_dir: str, site_dir: str) -> dict[str, Any]:
    css, js = _assets("")
    features = ["navigation.tabs", "navigation.top", "search.suggest", "search.highlight", "content.tooltips"]
    if site_url:
        # Instant navigation works only when site_url matches where the site is served.
        features.insert(0, "navigation.instant")
    config: dict[str, Any] = {"site_name": safe_title(title)}  # Material prints it unescaped
    if site_url:
        config["site_url"] = site_url
    config.update(
        {
            "docs_dir": docs_dir,
            "site_dir": site_dir,
            "use_directory_urls": True,
            "theme": {
                "name": "material",
                "variant": "classic",  # Zensical: keep the Material look; MkDocs ignores it
                "font": False,  # otherwise Google Fonts: no request may leave the site
                "features": features,
                "palette": [
                    {
                        "scheme": "default",
                        "primary": "indigo",
                        "toggle": {"icon": "material/brightness-7", "name": "Dark mode"},
                    },
                    {
                        "scheme": "slate",
                        "primary": "indigo",
                        "toggle": {"icon": "material/brightness-4", "name": "Light mode"},
                    },
                ],
            },
            "nav": _nav(""),
            "not_in_nav": _not_in_nav(""),
            "plugins": ["search"],
            "markdown_extensions": ["attr_list", "md_in_html", "tables", {"toc": {"permalink": True}}],
            "extra_css": css,
            "extra_javascript": js,
        }
    )
    return config


_PATH_KEYS = ("custom_dir",)


def extended_config(
    user: dict[str, Any],
    user_config_path: Path,
    prefix: str,
    title: str,
    docs_dir: str,
    site_dir: str,
    user_pages: list[str],
) -> dict[str, Any]:
    """The user's ``mkdocs.yml`` with mlreport's section added under ``prefix``.

    Their theme, palette, extensions, plugins and pages are kept; paths in it are made absolute
    because the generated file lives elsewhere; fonts are turned off only if they did not choose.
    """
    config = dict(user)
    base = user_config_path.parent.resolve()
    config["docs_dir"] = docs_dir
    config["site_dir"] = site_dir
    theme = config.get("theme")
    if isinstance(theme, str):
        theme = {"name": theme}
    theme = dict(theme or {"name": "material"})
    theme.setdefault("font", False)
    for key in _PATH_KEYS:
        if isinstance(theme.get(key), str):
            theme[key] = str((base / theme[key]).resolve())
    config["theme"] = theme
    if isinstance(config.get("hooks"), list):
        config["hooks"] = [str((base / h).resolve()) if isinstance(h, str) else h for h in config["hooks"]]
    if "INHERIT" in config and isinstance(config["INHERIT"], str):
        config["INHERIT"] = str((base / config["INHERIT"]).resolve())
    section = {safe_title(title): _nav(prefix, "Overview")}
    if isinstance(config.get("nav"), list):
        config["nav"] = [*config["nav"], section]
    else:
        # With no nav MkDocs would list every generated page; list the user's pages instead.
        own = sorted(user_pages, key=lambda p: (p != "index.md", p.count("/"), p))
        config["nav"] = [*own, section]
    existing = str(config.get("not_in_nav") or "")
    config["not_in_nav"] = (existing.rstrip("\n") + "\n" if existing else "") + _not_in_nav(prefix)
    extensions = list(config.get("markdown_extensions") or [])
    names = {e if isinstance(e, str) else next(iter(e)) for e in extensions if isinstance(e, (str, dict))}
    for ext in ("attr_list", "md_in_html", "tables"):
        if ext not in names:
            extensions.append(ext)
    config["markdown_extensions"] = extensions
    plugins = config.get("plugins")
    if plugins is None:
        config["plugins"] = ["search"]
    css, js = _assets(prefix)
    config["extra_css"] = [*list(config.get("extra_css") or []), *css]
    config["extra_javascript"] = [*list(config.get("extra_javascript") or []), *js]
    return config
