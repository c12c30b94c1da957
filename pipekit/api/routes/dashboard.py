"""The dashboard and the notification settings: the same views as the web console's
``/`` and ``/settings`` (``sv.dashboard``, ``sv.notifications``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from pipekit.api import deps
from pipekit.services import Services
from pipekit.services.dashboard import DAYS_MAX, DashboardView
from pipekit.services.notifications import NotificationSettingsView, TestNotificationView

router = APIRouter()


@router.get("/dashboard", response_model=DashboardView, tags=["dashboard"])
def dashboard(days: int = Query(14, ge=1, le=DAYS_MAX), sv: Services = deps.VIEWER) -> Any:
    """Runs in progress, recent failures, late modules (more than two schedule intervals
    without a success), the next scheduled fires, and rows / run time per UTC day."""
    return sv.dashboard.show(days=days)


@router.get("/settings/notifications", response_model=NotificationSettingsView, tags=["settings"])
def notification_settings(sv: Services = deps.VIEWER) -> Any:
    """The failure notifications as the config file sets them (read-only; no secret values)."""
    return sv.notifications.settings()


@router.post(
    "/settings/notifications/test",
    response_model=TestNotificationView,
    responses={422: {"description": "no notification is configured"}},
    tags=["settings"],
)
def test_notification(sv: Services = deps.ADMIN) -> Any:
    """Send a test notification by every configured channel; each channel's outcome."""
    return sv.notifications.send_test()
