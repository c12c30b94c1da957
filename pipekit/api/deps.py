"""Shared helpers of the routes: the store, looking objects up by id or name, 422 bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import HTTPException, Path, Request

from pipekit.errors import NotFoundError

if TYPE_CHECKING:
    from pipekit.store import Store


MAX_ID = 2**53
#: a numeric id in a path (bounded, so no database sees an integer it cannot hold)
IntId = Annotated[int, Path(ge=0, le=MAX_ID)]


def _numeric(key: str) -> int | None:
    return int(key) if key.isdigit() and len(key) <= 15 else None


def store(request: Request) -> Store:
    return request.app.state.store


def _by_id_or_name(items: list[Any], key: str, what: str) -> Any:
    number = _numeric(key)
    for item in items:
        if number is not None and item.id == number:
            return item
    for item in items:
        if item.name == key:
            return item
    raise NotFoundError(f"{what} '{key}' does not exist")


def connection(s: Store, key: str) -> Any:
    return _by_id_or_name(s.connections.list(), key, "connection")


def module(s: Store, key: str) -> Any:
    if _numeric(key) is not None:
        try:
            return s.modules.get_by_id(int(key))
        except NotFoundError:
            pass
    return s.modules.get(key)


def group(s: Store, key: str) -> Any:
    return _by_id_or_name(s.groups.list(), key, "group")


def problems_422(problems: list[Any]) -> HTTPException:
    """A 422 in FastAPI's own shape: one entry per problem, `loc` naming the field."""
    detail = [
        {
            "loc": ["body", *(p.path.split(".") if p.path else [])],
            "msg": p.message,
            "type": "value_error",
        }
        for p in problems
    ]
    return HTTPException(422, detail=detail)


def field_422(field: str, message: str) -> HTTPException:
    return HTTPException(
        422, detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}]
    )
