"""``create_app(services)``: the FastAPI application with every face mounted.

Everything under ``/api`` needs HTTP Basic auth (``pipekit.api.auth``) and the role
each route declares;
``/health`` does not. The web console (``pipekit.web``) serves its pages at ``/``,
behind its own login with session cookies. Deliberate errors (``PipekitError``) are answered by
``pipekit.api.errors`` with the status of their class.
"""

from __future__ import annotations

from fastapi import FastAPI

from pipekit.api.auth import PasswordCache
from pipekit.api.errors import handle
from pipekit.api.router import health_router, router
from pipekit.errors import PipekitError
from pipekit.server.docs import mount_docs
from pipekit.server.limits import BodyLimit
from pipekit.services import Services
from pipekit.throttle import LoginThrottle
from pipekit.web import mount as mount_web


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Pipekit",
        version="1",
        description="Config-driven database sync. HTTP Basic auth on everything under /api.",
        docs_url=None,  # mount_docs serves /docs from the package, not from a CDN
        redoc_url=None,
    )
    app.state.services = services
    # one login throttle for the API's Basic auth and the console's login form
    app.state.throttle = LoginThrottle()
    app.state.password_cache = PasswordCache()
    app.add_exception_handler(PipekitError, handle)
    app.include_router(health_router)
    app.include_router(router, prefix="/api")
    mount_docs(app)
    mount_web(app)
    app.add_middleware(BodyLimit, max_bytes=services.config["api.max_request_bytes"])
    return app
