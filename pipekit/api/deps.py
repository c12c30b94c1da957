"""What the routes share: the services acting for an authenticated user who holds the
role the route declares, and numeric ids.

Every route declares its role by taking one of these as its services parameter
(``sv: Services = deps.EDITOR``), or in ``dependencies=[deps.ADMIN]`` when it needs no
services; a route without one fails ``tests/api/test_roles.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from pipekit.api.auth import require_role
from pipekit.services.lookup import MAX_ID

#: a numeric id in a path (bounded, so no database sees an integer it cannot hold)
IntId = Annotated[int, Path(ge=0, le=MAX_ID)]

#: the services for a route any user may use: reading
VIEWER = require_role("viewer")
#: running, cancelling, testing a connection
OPERATOR = require_role("operator")
#: modules, their watermarks and checks, groups, schedules, apply
EDITOR = require_role("editor")
#: connections, drivers, hooks, users, settings
ADMIN = require_role("admin")
