"""What a state-changing API request must look like, against cross-site request forgery.

A browser that holds Basic credentials (or the console's session cookie) for this
server sends them with any request another site makes it send. Such "simple" requests
can only carry ``text/plain``, form or no bodies, and they say where they come from.
So for ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` under ``/api``:

- **cross-site is refused (403)**: an ``Origin`` header that is not this server's own
  (its ``Host``, or ``server.base_url``), or ``Sec-Fetch-Site: cross-site``;
- **only JSON bodies (415 otherwise)**: ``Content-Type: application/json`` (a route that
  takes no body accepts an empty one under that type), and for ``/api/apply`` YAML as
  ``application/yaml`` or ``application/x-yaml``; ``text/plain``, form bodies and a
  ``POST``/``PUT``/``PATCH`` without a content type are refused. A ``DELETE`` may send
  no body at all (browsers never send one cross-site without asking first).

Both types make a browser ask the server first (a CORS preflight), which this server
never grants, so another site cannot send them. The check runs after authentication
(a request without credentials still gets its 401) and before anything is read or done.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from pipekit.errors import PermissionDeniedError, UnsupportedMediaError

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON = "application/json"
YAML_TYPES = ("application/yaml", "application/x-yaml")
#: routes that take YAML under its own media type, besides JSON
YAML_PATHS = frozenset({"/api/apply"})


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.lower() if parts.scheme in ("http", "https") else ""


def _cross_site(request: Request) -> str | None:
    """Why `request` is cross-site, or None."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return "Sec-Fetch-Site: cross-site"
    origin = request.headers.get("origin")
    if origin is None:
        return None
    own = {request.headers.get("host", "").lower()}
    base_url = request.app.state.services.config["server.base_url"]
    if base_url:
        own.add(_netloc(base_url))
    if _netloc(origin) not in own - {""}:
        return f"Origin {origin[:100]}"
    return None


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return bool(request.headers.get("transfer-encoding")) or (length not in (None, "0"))


async def check_request(request: Request) -> None:
    """Refuse a cross-site (403) or non-JSON (415) state-changing request."""
    if request.method not in UNSAFE_METHODS:
        return
    why = _cross_site(request)
    if why is not None:
        raise PermissionDeniedError(
            f"cross-site request refused ({why}): the API changes nothing for another "
            "site's page; call it from a script or the console on this server"
        )
    kind = _media_type(request)
    allowed = (JSON, *YAML_TYPES) if request.url.path in YAML_PATHS else (JSON,)
    if kind in allowed or (kind == "" and request.method == "DELETE" and not _has_body(request)):
        return
    raise UnsupportedMediaError(
        f"Content-Type {kind or '(none)'} is not accepted here; send "
        + (" or ".join(allowed))
        + (" (with an empty body or {} when the route takes none)" if JSON in allowed else "")
    )
