"""Drivers: the database kinds this installation can talk to, as views.

Listing them needs no state database, so the CLI's `drivers list` calls
``list_drivers()`` directly; the API reaches it as ``sv.connections.drivers()``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DriverView:
    kind: str
    schemes: list[str]
    packages: list[str]
    missing: list[str]
    install: str
    available: bool


def list_drivers() -> list[DriverView]:
    """Every registered kind, its URL schemes and which of its Python packages are missing."""
    from pipekit.drivers import driver_status

    return [
        DriverView(
            kind=d.kind,
            schemes=list(d.schemes),
            packages=list(d.packages),
            missing=list(d.missing),
            install=d.install,
            available=d.available,
        )
        for d in driver_status()
    ]
