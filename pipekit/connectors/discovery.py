"""Where connectors are found: built in, a configured folder, installed packages.

1. **Built in**: ``pipekit/connectors/builtin/<name>/connector.yaml``.
2. **A folder** (the bootstrap setting ``connectors_dir``): each
   ``<folder>/<name>/connector.yaml``; the folder is put on ``sys.path`` when one
   of its connectors is imported, so ``entrypoint: <name>.connector.MyConnector``.
3. **Installed packages**: an entry point in the group ``pipekit.connectors``
   whose name is the connector's and whose value is the package holding
   ``connector.yaml``::

       [project.entry-points."pipekit.connectors"]
       weather = "pipekit_weather"

A name found twice keeps its first place in that order; the later one is listed
with the problem. Manifests are read, not imported: listing is cheap, and a
broken connector is shown with what is wrong rather than hiding the others.
"""

from __future__ import annotations

import difflib
import importlib.util
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from pipekit.connectors.manifest import FILE_NAME, ConnectorManifest
from pipekit.errors import ManifestError, NotFoundError, Problem

__all__ = ["BUILTIN_DIR", "ENTRY_POINT_GROUP", "Found", "find", "find_all"]

BUILTIN_DIR = Path(__file__).parent / "builtin"
ENTRY_POINT_GROUP = "pipekit.connectors"


@dataclass
class Found:
    """One connector found: where, and its manifest or what is wrong with it."""

    name: str
    source: str  # "builtin", "folder" or "entry point"
    location: str  # the manifest's path (or the entry point, when it has none)
    manifest: ConnectorManifest | None = None
    problems: list[Problem] = field(default_factory=list)
    error: ManifestError | None = None


def _load(name: str, source: str, path: Path, import_root: Path | None) -> Found:
    try:
        manifest = ConnectorManifest.load(path, expected_name=name, import_root=import_root)
    except ManifestError as exc:
        return Found(name, source, str(path), problems=exc.problems, error=exc)
    return Found(name, source, str(path), manifest=manifest)


def _in_folder(folder: Path, source: str, import_root: Path | None) -> list[Found]:
    if not folder.is_dir():
        return []
    return [
        _load(d.name, source, d / FILE_NAME, import_root)
        for d in sorted(folder.iterdir())
        if (d / FILE_NAME).is_file()
    ]


def _from_entry_points() -> list[Found]:
    found = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        where = f"entry point {ep.name} = {ep.value}"
        try:
            spec = importlib.util.find_spec(ep.value)
        except (ImportError, ValueError):
            spec = None
        folders = list(spec.submodule_search_locations or []) if spec else []
        if not folders:
            problem = Problem(
                "entry point",
                f"{ep.value!r} is not an importable package; the value must be the package "
                f"that holds {FILE_NAME}",
            )
            found.append(
                Found(
                    ep.name,
                    "entry point",
                    where,
                    problems=[problem],
                    error=ManifestError([problem], where),
                )
            )
            continue
        path = Path(folders[0]) / FILE_NAME
        found.append(_load(ep.name, "entry point", path, None))
    return found


def find_all(folder: Path | None = None) -> list[Found]:
    """Every connector: built in, in `folder` (the configured ``connectors_dir``), and
    from the ``pipekit.connectors`` entry points; duplicates are marked."""
    candidates = _in_folder(BUILTIN_DIR, "builtin", None)
    if folder is not None:
        candidates += _in_folder(folder, "folder", folder)
    candidates += _from_entry_points()
    seen: dict[str, Found] = {}
    result = []
    for f in candidates:
        first = seen.get(f.name)
        if first is not None:
            problem = Problem(
                "name",
                f"{f.name!r} is already taken by the {first.source} connector at "
                f"{first.location}; this one is ignored (rename it)",
            )
            f = Found(
                f.name,
                f.source,
                f.location,
                problems=[*f.problems, problem],
                error=ManifestError([problem], f.location),
            )
        else:
            seen[f.name] = f
        result.append(f)
    return result


def find(name: str, folder: Path | None = None) -> ConnectorManifest:
    """The manifest of connector `name`; NotFoundError (with "did you mean"), or the
    ManifestError of a connector whose manifest is invalid."""
    found = [f for f in find_all(folder) if f.name == name]
    if not found:
        names = sorted({f.name for f in find_all(folder)})
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NotFoundError(
            f"no connector named {name!r} (connectors: {', '.join(names) or 'none'}){hint}; "
            "`pipekit connector list` shows them",
            path="connector",
        )
    first = found[0]
    if first.manifest is None:
        assert first.error is not None
        raise first.error
    return first.manifest
