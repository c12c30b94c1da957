"""The page routers, one module per part of the console (see docs/web.md)."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from pipekit.web.routes import (
        auth,
        connections,
        dashboard,
        groups,
        modules,
        runs,
        schedules,
        settings,
        wizard,
    )

    return [
        auth.router,
        dashboard.router,
        wizard.router,  # before modules: /modules/new is not a module named "new"
        modules.router,
        runs.router,
        groups.router,
        schedules.router,
        connections.router,
        settings.router,
    ]
