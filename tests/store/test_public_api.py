"""The store's public names stay importable (other layers build on them)."""

from __future__ import annotations

import pipekit.store


def test_all_names_exist() -> None:
    for name in pipekit.store.__all__:
        assert hasattr(pipekit.store, name), name
    assert {"Store", "Connection", "LATEST_VERSION", "AlreadyExistsError"} <= set(
        pipekit.store.__all__
    )
