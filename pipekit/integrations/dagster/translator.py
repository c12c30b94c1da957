"""``DagsterPipekitTranslator``: how a Pipekit module becomes a Dagster asset.

Subclass it and override a ``get_*`` method to change asset keys, groups, kinds,
metadata or check specs, as with dagster-sling's and dagster-dlt's translators::

    class MyTranslator(DagsterPipekitTranslator):
        def get_asset_key(self, module: PipekitModule) -> AssetKey:
            return super().get_asset_key(module).with_prefix("warehouse")

    defs = build_definitions(PipekitResource.from_env(), translator=MyTranslator())
"""

from __future__ import annotations

import re

from dagster import AssetCheckSpec, AssetKey, AssetSpec

from pipekit.integrations.dagster.catalog import PipekitModule

#: the group of modules that are in no Pipekit group
DEFAULT_GROUP = "pipekit"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def dagster_name(text: str) -> str:
    """`text` as a Dagster name (letters, digits and ``_`` only)."""
    name = _NOT_NAME.sub("_", text)
    return name if name and not name[0].isdigit() else f"_{name}"


class DagsterPipekitTranslator:
    """Maps a Pipekit module to its asset spec and its checks to asset check specs."""

    def get_asset_spec(self, module: PipekitModule) -> AssetSpec:
        return AssetSpec(
            key=self.get_asset_key(module),
            group_name=self.get_group_name(module),
            kinds=self.get_kinds(module),
            metadata=self.get_metadata(module),
            description=self.get_description(module),
        )

    def get_asset_key(self, module: PipekitModule) -> AssetKey:
        """The destination: connection name, then the table's dotted parts
        (``dw`` + ``sync.orders`` -> ``dw/sync/orders``); the module's name if it has none."""
        if not module.dest or not module.dest_table:
            return AssetKey([dagster_name(module.name)])
        return AssetKey([dagster_name(p) for p in [module.dest, *module.dest_table.split(".")]])

    def get_group_name(self, module: PipekitModule) -> str:
        """The module's first Pipekit group (by name), else ``pipekit``."""
        return dagster_name(module.groups[0]) if module.groups else DEFAULT_GROUP

    def get_kinds(self, module: PipekitModule) -> set[str]:
        """``pipekit`` and the source and destination database kinds (at most 3)."""
        return {"pipekit"} | {k for k in (module.source_kind, module.dest_kind) if k}

    def get_metadata(self, module: PipekitModule) -> dict[str, str]:
        metadata = {
            "pipekit/module": module.name,
            "pipekit/source": module.source or "",
            "pipekit/destination": f"{module.dest}: {module.dest_table}",
            "pipekit/strategy": module.merge_strategy,
        }
        if module.merge_key:
            metadata["pipekit/merge_key"] = module.merge_key
        if module.watermark_column:
            metadata["pipekit/watermark_column"] = module.watermark_column
        return metadata

    def get_description(self, module: PipekitModule) -> str:
        return (
            f"Pipekit module {module.name}: {module.source} -> {module.dest} "
            f"{module.dest_table} ({module.merge_strategy})"
        )

    def get_check_spec(self, module: PipekitModule, check: str, asset: AssetKey) -> AssetCheckSpec:
        """A Pipekit check: blocking, since a failed check rolls the merge back."""
        return AssetCheckSpec(
            name=dagster_name(check),
            asset=asset,
            blocking=True,
            description=f"Pipekit check {check} of module {module.name}: a query that "
            "must return no rows; run inside the merge, which a failure rolls back",
        )
