"""The request size limit: a body over ``api.max_request_bytes`` is answered 413.

Checked on the declared ``Content-Length`` before anything is read, and counted
as the body arrives (a chunked upload declares none), so a 200 MB manifest is
refused after the first 10 MB rather than parsed.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipekit.api.errors import body_of, status_of
from pipekit.errors import RequestTooLargeError


class _TooLarge(Exception):
    """Raised inside `receive` when the counted body passes the limit."""


class BodyLimit:
    """ASGI middleware refusing request bodies larger than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self) -> JSONResponse:
        exc = RequestTooLargeError(
            f"the request body is larger than this server accepts ({self.max_bytes} bytes); "
            "send less (split a manifest), or raise api.max_request_bytes in the config"
        )
        return JSONResponse(body_of(exc), status_code=status_of(exc))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._refusal()(scope, receive, send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except Exception as exc:
            # a middleware inside may have wrapped it in an ExceptionGroup (anyio)
            if started or not _holds_too_large(exc):
                raise
            await self._refusal()(scope, receive, send)


def _holds_too_large(exc: BaseException) -> bool:
    if isinstance(exc, _TooLarge):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_holds_too_large(e) for e in exc.exceptions)
    return False
