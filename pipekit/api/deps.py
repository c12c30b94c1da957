"""What the routes share: the services acting for the authenticated user, numeric ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Path, Request

from pipekit.api.auth import require_user
from pipekit.errors import NotFoundError
from pipekit.services.lookup import MAX_ID

if TYPE_CHECKING:
    from pipekit.services import Services
    from pipekit.store import Store

#: a numeric id in a path (bounded, so no database sees an integer it cannot hold)
IntId = Annotated[int, Path(ge=0, le=MAX_ID)]


def services(request: Request, user: str = Depends(require_user)) -> Services:
    """The app's services, acting for the user the request authenticated as."""
    return request.app.state.services.as_actor(f"api:{user}")


#: declare a route's services parameter: ``sv: Services = SV``
SV = Depends(services)


# -- interim helpers of routes not yet moved onto services (removed when they are) --


def store(request: Request) -> Store:
    return request.app.state.store


def _numeric(key: str) -> int | None:
    return int(key) if key.isdigit() and len(key) <= 15 else None


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
