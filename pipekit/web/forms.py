"""Reading posted forms into the arguments services take.

HTML forms send text: an empty field means "not set" for the optional fields,
an unticked checkbox is absent, and the inline watermark rows arrive as parallel
lists (``wm_name``, ``wm_connection``, ...; ``wm_action`` is ``keep`` or ``delete``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import FormData

from pipekit.module_settings import SETTINGS

#: text fields of the module form, in the order the form shows them: every module
#: setting that is not a checkbox (pipekit/module_settings.py declares them once)
MODULE_TEXT = ("name", *(s.name for s in SETTINGS if s.kind != "bool"))
MODULE_CHECKBOXES = ("key_sync", "audit_columns", "enabled")


async def form_data(request: Request) -> FormData:
    return await request.form()


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def module_changes(form: FormData, *, checkboxes: bool = True) -> dict[str, Any]:
    """The module fields the form carries: text as typed ("" clears an optional field),
    checkboxes as booleans (the form marks that it has them with ``has_checkboxes``)."""
    changes: dict[str, Any] = {}
    for name in MODULE_TEXT:
        if name in form:
            value = form.get(name)
            changes[name] = value.replace("\r\n", "\n") if isinstance(value, str) else ""
            if name != "source_query":
                changes[name] = changes[name].strip()
    if checkboxes and "has_checkboxes" in form:
        for name in MODULE_CHECKBOXES:
            changes[name] = name in form
    return changes


def watermark_rows(form: FormData) -> list[dict[str, str]]:
    """The inline watermark rows to keep (rows marked delete and blank new rows dropped)."""
    columns = [
        form.getlist(f"wm_{k}")
        for k in ("name", "connection", "resolver_sql", "default_value", "action")
    ]
    rows = []
    for name, connection, resolver, default, action in zip(*columns, strict=False):
        if action == "delete":
            continue
        row = {
            "name": str(name).strip(),
            "connection": str(connection).strip(),
            "resolver_sql": str(resolver).replace("\r\n", "\n").strip(),
            "default_value": str(default).strip(),
        }
        if any(row.values()):
            rows.append(row)
    return rows
