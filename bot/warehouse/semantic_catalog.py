"""The semantic layer's compiled catalog: the file format, its relation placeholders, and
reading/writing it (atomically). No MetricFlow here.

``dbt_project/target/semantic_catalog.json`` sits next to ``semantic_manifest.json`` and
is compiled from it by MetricFlow at build time (``bot.warehouse.semantic.write_catalog``:
``python -m bot build`` and ``python -m bot catalog``). Per dialect it holds what
answering a common question needs, so the first metric question after start-up is
answered without importing metricflow (~1–2 s):

* the vocabulary (metrics with their ``MetricInfo`` fields, each metric's plain
  dimension -> qualified name, the dimensions' infos),
* each qualified dimension's distinct-values SQL,
* the compiled SQL (bind parameters, columns) of common request shapes, keyed by the
  shape (``shape_key``).

Relations are compiled as placeholders, one per mart alias (``relation_token``), and
replaced by the reading warehouse's ``mart_relation(alias)`` when the catalog is read:
one catalog serves any DuckDB file name or BigQuery dataset. The placeholders are the
warehouse's own identifiers, never user text.

A catalog is used only if it was compiled from the current manifest's definitions (the
sha256 of its JSON less the marts' locations, ``manifest_sha256``), by the installed
MetricFlow version, in this format; otherwise it is
ignored (one warning) and the layer compiles everything lazily, as without one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("bot.warehouse.semantic_catalog")

FORMAT = 1
CATALOG_NAME = "semantic_catalog.json"
DIALECTS = ("duckdb", "bigquery")
# A relation MetricFlow copies verbatim (three dotted parts, as it splits relations);
# the alias is the last part, an identifier the placeholder pattern reads back.
_TOKEN_PREFIX = "kpi_catalog_relation.main."
_TOKEN = re.compile(re.escape(_TOKEN_PREFIX) + r"([A-Za-z_][A-Za-z0-9_]*)")


class CatalogError(ValueError):
    """A catalog that can't be used as it is (its reason in plain words)."""


def catalog_path_for(manifest_path: Path) -> Path:
    return Path(manifest_path).with_name(CATALOG_NAME)


def relation_token(alias: str) -> str:
    """The placeholder compiled in place of mart ``alias``'s relation."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
        raise CatalogError(f"not a mart alias: {alias!r}")
    return _TOKEN_PREFIX + alias


def checked(sql: str) -> str:
    """``sql``, checked to name relations only through whole placeholders (MetricFlow
    copied them verbatim), so that reading can substitute every one."""
    tokens = len(_TOKEN.findall(sql))
    if tokens == 0 or sql.count(_TOKEN_PREFIX.split(".")[0]) != tokens:
        raise CatalogError("compiled SQL names a relation other than by its placeholder")
    return sql


def substitute(text: str, relation: Callable[[str], str]) -> str:
    """``text`` with every placeholder replaced by ``relation(alias)``."""
    return _TOKEN.sub(lambda match: relation(match.group(1)), text)


def shape_key(shape: tuple) -> str:
    """A shape tuple (``bot.warehouse.semantic._shape``) as a deterministic string."""
    return json.dumps(shape, separators=(",", ":"))


def manifest_sha256(data: bytes) -> str:
    """sha256 of the manifest's definitions: its JSON without where dbt wrote the marts
    (relation names, database, schema), which the layer replaces by the marts of the
    warehouse it reads. Builds of the same definitions into differently named files (a
    build's copy, each test's warehouse) share one catalog."""
    try:
        raw = json.loads(data)
    except ValueError:
        return hashlib.sha256(data).hexdigest()  # unreadable: read_dialect says so
    config = raw.get("project_configuration", {}) if isinstance(raw, dict) else {}
    nodes = [sm.get("node_relation", {}) for sm in raw.get("semantic_models", [])]
    nodes += [spine.get("node_relation", {}) for spine in config.get("time_spines", [])]
    for node in nodes:
        for where in ("relation_name", "database", "schema_name"):
            node.pop(where, None)
    for legacy in config.get("time_spine_table_configurations", []):
        legacy["location"] = str(legacy.get("location", "")).split(".")[-1]
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def metricflow_version() -> str | None:
    """The installed MetricFlow's version, from its metadata (metricflow not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("metricflow")
    except PackageNotFoundError:
        return None


def read_dialect(
    catalog_path: Path, manifest_bytes: bytes, dialect: str, mf_version: str | None
) -> dict[str, Any]:
    """The catalog's section for ``dialect`` if it was compiled from ``manifest_bytes``
    by MetricFlow ``mf_version`` in this format; ``CatalogError`` (why) otherwise.
    ``FileNotFoundError`` when there is no catalog."""
    try:
        raw = json.loads(Path(catalog_path).read_bytes())
    except ValueError as err:
        raise CatalogError(f"unreadable: {err}") from err
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CatalogError(f"format {raw.get('format') if isinstance(raw, dict) else '?'}")
    if raw.get("manifest_sha256") != manifest_sha256(manifest_bytes):
        raise CatalogError("compiled from another semantic_manifest.json")
    if raw.get("metricflow") != mf_version:
        raise CatalogError(f"compiled by MetricFlow {raw.get('metricflow')}, not {mf_version}")
    section = raw.get("dialects", {}).get(dialect)
    if not isinstance(section, dict):
        raise CatalogError(f"no {dialect} section")
    return section


def existing_dialects(
    catalog_path: Path, manifest_bytes: bytes, mf_version: str | None
) -> dict[str, dict[str, Any]]:
    """The sections of a current catalog at ``catalog_path`` (none if absent or stale)."""
    try:
        raw = json.loads(Path(catalog_path).read_bytes())
    except (OSError, ValueError):
        return {}
    if (
        not isinstance(raw, dict)
        or raw.get("format") != FORMAT
        or raw.get("manifest_sha256") != manifest_sha256(manifest_bytes)
        or raw.get("metricflow") != mf_version
    ):
        return {}
    return dict(raw.get("dialects", {}))


def write(
    catalog_path: Path,
    manifest_bytes: bytes,
    mf_version: str | None,
    dialects: Mapping[str, dict[str, Any]],
) -> None:
    """Write the catalog atomically (a temporary file beside it, then a rename)."""
    payload = {
        "format": FORMAT,
        "manifest_sha256": manifest_sha256(manifest_bytes),
        "metricflow": mf_version,
        "dialects": {name: dialects[name] for name in sorted(dialects)},
    }
    catalog_path = Path(catalog_path)
    partial = catalog_path.with_name(f".{catalog_path.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(json.dumps(payload, sort_keys=True, separators=(",", ":")))
        os.replace(partial, catalog_path)
    finally:
        partial.unlink(missing_ok=True)
