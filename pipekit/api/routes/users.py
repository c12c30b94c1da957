"""Users and their roles (``sv.users``): admin only. Passwords go in, never out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipekit.api import deps, schemas
from pipekit.services import Services
from pipekit.services.users import UserView

router = APIRouter()
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"description": "bad name, password or role; or the last admin"}
}


@router.get("/users", response_model=list[UserView], tags=["users"])
def list_users(sv: Services = deps.ADMIN) -> Any:
    return sv.users.list()


@router.post(
    "/users", response_model=UserView, status_code=201, responses=UNPROCESSABLE, tags=["users"]
)
def add_user(body: schemas.UserIn, sv: Services = deps.ADMIN) -> Any:
    """Add a user with a role (viewer if none is given)."""
    return sv.users.add(body.name, body.password, body.role)


@router.get("/users/{name}", response_model=UserView, tags=["users"])
def get_user(name: str, sv: Services = deps.ADMIN) -> Any:
    return sv.users.show(name)


@router.put("/users/{name}", response_model=UserView, responses=UNPROCESSABLE, tags=["users"])
def update_user(name: str, body: schemas.UserPatch, sv: Services = deps.ADMIN) -> Any:
    """Change the role and/or the password; demoting the last admin is refused (422)."""
    view = sv.users.show(name)
    if body.password is not None:
        view = sv.users.set_password(view.name, body.password)
    if body.role is not None:
        view = sv.users.set_role(view.name, body.role)
    return view


@router.delete("/users/{name}", response_model=UserView, responses=UNPROCESSABLE, tags=["users"])
def remove_user(name: str, sv: Services = deps.ADMIN) -> Any:
    """Delete a user (returns what it was); removing the last admin is refused (422)."""
    return sv.users.remove(sv.users.show(name).name)
