"""The API's documentation page (`/docs`), served from files in the package.

FastAPI's default page loads Swagger UI from a CDN, so it is blank on a machine
without internet; this one loads the copy vendored in ``static/swagger-ui``
(see its VENDORED.md). ReDoc is not offered: one documentation page is enough.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
SWAGGER = "/static/swagger-ui"


def mount_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI on ``app.openapi_url``) and its assets; both public,
    like ``/openapi.json``: they describe the API, they hold no data."""
    app.mount("/static/swagger-ui", StaticFiles(directory=STATIC / "swagger-ui"), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
        )
