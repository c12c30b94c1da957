"""What the routes share: the services acting for the authenticated user, numeric ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Path, Request

from pipekit.api.auth import require_user
from pipekit.services.lookup import MAX_ID

if TYPE_CHECKING:
    from pipekit.services import Services

#: a numeric id in a path (bounded, so no database sees an integer it cannot hold)
IntId = Annotated[int, Path(ge=0, le=MAX_ID)]


def services(request: Request, user: str = Depends(require_user)) -> Services:
    """The app's services, acting for the user the request authenticated as."""
    return request.app.state.services.as_actor(f"api:{user}")


#: declare a route's services parameter: ``sv: Services = SV``
SV = Depends(services)
