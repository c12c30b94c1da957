"""The YAML manifest: apply a whole configuration at once, or export it.

``apply`` takes the manifest as a file (a ``Path``: the CLI), text or bytes (the
API's request body), validates all of it (``ManifestError`` with every problem
and its path), then writes it in one state-DB transaction: a write the database
refuses half-way leaves nothing applied. A dry run writes nothing. The format:
docs/yaml.md; the work: ``pipekit.engine.manifest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipekit.errors import ManifestError, Problem, StoreError

if TYPE_CHECKING:
    from pipekit.engine.manifest import ApplyReport
    from pipekit.services import Services


@dataclass(frozen=True)
class ApplyChangeView:
    kind: str  # connection | module | group | schedule
    name: str
    action: str  # created | updated | unchanged | removed
    fields: list[str]  # for updates: what changed


@dataclass(frozen=True)
class ApplyView:
    changed: bool
    dry_run: bool
    changes: list[ApplyChangeView]

    def counts(self) -> dict[str, int]:
        """How many objects were (or would be) created, updated, removed, left unchanged."""
        out = dict.fromkeys(("created", "updated", "removed", "unchanged"), 0)
        for c in self.changes:
            out[c.action] += 1
        return out


def _view(report: ApplyReport) -> ApplyView:
    return ApplyView(
        changed=report.changed,
        dry_run=report.dry_run,
        changes=[ApplyChangeView(c.kind, c.name, c.action, list(c.fields)) for c in report.changes],
    )


class ManifestService:
    def __init__(self, sv: Services) -> None:
        self._sv = sv

    def apply(
        self,
        manifest: str | bytes | Path,
        prune: bool = False,
        dry_run: bool = False,
        *,
        base_dir: Path | None = None,
        source: str | None = None,
    ) -> ApplyView:
        """Make the state hold what `manifest` says (and with `prune` nothing else).

        `manifest`: a file (``Path``), or the YAML itself (``str`` or UTF-8 ``bytes``;
        never read as a path). Relative file URLs start from `base_dir` (the file's
        folder, else the working directory); `source` names the text in messages.
        """
        from sqlalchemy.exc import DBAPIError

        from pipekit.engine.manifest import apply_manifest

        if isinstance(manifest, bytes):
            try:
                manifest = manifest.decode("utf-8")
            except UnicodeDecodeError:
                raise ManifestError(
                    [Problem("", "the manifest must be UTF-8 text")], source or "the manifest"
                ) from None
        as_text = not isinstance(manifest, Path)
        try:
            report = apply_manifest(
                self._sv.store,
                manifest,
                prune=prune,
                dry_run=dry_run,
                changed_by=self._sv.actor,
                base_dir=base_dir,
                as_text=as_text,
                source=source,
                files=self._sv.files,
            )
        except DBAPIError as exc:
            # The whole apply was rolled back; say so in the database's own words.
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise StoreError(
                f"the state database refused a write ({reason}); nothing of the manifest "
                "was applied"
            ) from None
        view = _view(report)
        if not view.dry_run:
            for c in view.changes:
                if c.action != "unchanged":
                    self._sv.audit.record(f"apply:{c.action}", c.kind, c.name, c.fields)
        return view

    def export(self) -> str:
        """Every connection, module, group and schedule as a manifest (passwords as $VAR)."""
        from pipekit.engine.manifest import export_manifest

        return export_manifest(self._sv.store)
