"""`PipekitClient`: the REST API of a Pipekit server, as typed Python calls.

One method per operation a tool needs (the TUI, tests, scripts); each returns a
dataclass of ``pipekit.client.models`` and raises the ``pipekit.errors`` class the
server raised (``pipekit.client.errors``). A server that cannot be reached raises
``UnreachableError``, refused credentials ``AuthenticationError``. Thread-safe:
httpx's client may be shared by threads, as the TUI's workers do.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from pipekit.client.errors import error_from
from pipekit.client.models import (
    Cancel,
    Connection,
    Hook,
    LogLine,
    Mapping,
    Module,
    Preview,
    Probe,
    Proposal,
    RecentRun,
    Run,
    RunEnded,
    StreamEvent,
    Tables,
    Unlock,
    load,
)
from pipekit.errors import PipekitError, UnreachableError

T = TypeVar("T")
#: seconds to wait for a connection and for an answer (a preview opens both databases)
DEFAULT_TIMEOUT = 30.0


def _seg(key: str | int) -> str:
    """A path segment: an id or a name, escaped (a table may be `schema.table`)."""
    return quote(str(key), safe="")


class RunStream:
    """A run's live log as events (`LogLine`s, then one `RunEnded`), read as they come.

    `close()` from another thread ends the iteration (the run goes on)."""

    def __init__(self, client: httpx.Client, path: str) -> None:
        self._client = client
        self._path = path
        self._response: httpx.Response | None = None
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[StreamEvent]:
        timeout = httpx.Timeout(DEFAULT_TIMEOUT, read=None)  # a quiet run sends nothing
        try:
            with self._client.stream("GET", self._path, timeout=timeout) as response:
                self._response = response
                if response.status_code >= 400:
                    response.read()
                    raise _error(response)
                yield from _events(response.iter_lines())
        except httpx.TransportError as exc:
            if not self._closed.is_set():
                raise UnreachableError(f"the run's log stream broke off: {exc}") from None
        except httpx.StreamClosed:
            pass

    def close(self) -> None:
        self._closed.set()
        if self._response is not None:
            self._response.close()


def _events(lines: Iterator[str]) -> Iterator[StreamEvent]:
    """Server-Sent Events (``event:`` + ``data:`` lines, a blank line ends one)."""
    event, data = "message", []
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "" and data:
            text = "\n".join(data)
            if event == "log":
                yield LogLine(text)
            elif event == "end":
                yield RunEnded(load(Run, json.loads(text)))
                return
            event, data = "message", []


def _error(response: httpx.Response) -> PipekitError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return error_from(response.status_code, body, response.text)


class PipekitClient:
    """The REST API at `url` (``http://host:port``), as `user` with `password`."""

    def __init__(
        self,
        url: str,
        user: str | None = None,
        password: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url.rstrip("/")
        self.user = user
        auth = (user, password or "") if user else None
        self._http = httpx.Client(base_url=f"{self.url}/api", auth=auth, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PipekitClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if method in ("POST", "PUT", "PATCH") and "json" not in kwargs and "content" not in kwargs:
            # the API takes JSON only (against cross-site forgery): an empty object
            kwargs["json"] = {}
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise UnreachableError(
                f"cannot reach the Pipekit server at {self.url} ({type(exc).__name__}: {exc}); "
                "is `pipekit serve` running there? (give another one with --url)"
            ) from None
        if response.status_code >= 400:
            raise _error(response)
        return response.json()

    def _one(self, cls: type[T], method: str, path: str, **kwargs: Any) -> T:
        return load(cls, self._call(method, path, **kwargs))

    def _many(self, cls: type[T], path: str, **params: Any) -> list[T]:
        query = {k: v for k, v in params.items() if v is not None}
        return [load(cls, item) for item in self._call("GET", path, params=query)]

    # -- the server --------------------------------------------------------------------

    def check(self) -> None:
        """Reach the server and check the credentials (raises if either fails)."""
        self._call("GET", "/connections")

    # -- modules -----------------------------------------------------------------------

    def modules(self, enabled: bool | None = None) -> list[Module]:
        return self._many(Module, "/modules", enabled=enabled)

    def module(self, key: str | int) -> Module:
        return self._one(Module, "GET", f"/modules/{_seg(key)}")

    def add_module(self, name: str, **fields: Any) -> Module:
        """Create a module; `ValidationError` names every bad field."""
        return self._one(Module, "POST", "/modules", json={"name": name, **fields})

    def update_module(self, key: str | int, **changes: Any) -> Module:
        """Change the given fields (None clears an optional one)."""
        return self._one(Module, "PUT", f"/modules/{_seg(key)}", json=changes)

    def mapping(self, key: str | int) -> Mapping:
        """The source query's column mapping and the staging table (nothing connects)."""
        return self._one(Mapping, "GET", f"/modules/{_seg(key)}/mapping")

    def preview(self, key: str | int) -> Preview:
        """The next run's source SQL (with its WHERE) and merge SQL."""
        return self._one(Preview, "GET", f"/modules/{_seg(key)}/preview")

    def hooks(self, key: str | int) -> list[Hook]:
        return self._many(Hook, f"/modules/{_seg(key)}/hooks")

    def latest_runs(self) -> dict[str, RecentRun | None]:
        """Each module's latest run by module name (None: it never ran)."""
        data = self._call("GET", "/runs/latest")
        return {name: load(RecentRun, r) if r else None for name, r in data.items()}

    # -- runs --------------------------------------------------------------------------

    def start_run(
        self, key: str | int, *, dry_run: bool = False, full_refresh: bool = False
    ) -> int:
        """Start a run of module `key`; its run id (ModuleBusyError while it runs)."""
        body = {"dry_run": dry_run, "full_refresh": full_refresh}
        return int(self._call("POST", f"/modules/{_seg(key)}/run", json=body)["run_id"])

    def unlock_module(self, key: str | int) -> Unlock:
        """Free module `key`'s lock by hand (an admin's call); NotRunningError when it
        is not locked."""
        return self._one(Unlock, "POST", f"/modules/{_seg(key)}/unlock")

    def runs(
        self, module: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[Run]:
        """Runs newest first, of one module or of all."""
        return self._many(Run, "/runs", module=module, status=status, limit=limit)

    def run(self, run_id: int) -> Run:
        return self._one(Run, "GET", f"/runs/{run_id}")

    def cancel_run(self, run_id: int) -> Cancel:
        return self._one(Cancel, "POST", f"/runs/{run_id}/cancel")

    def stream_run(self, run_id: int) -> RunStream:
        """The run's live log as it grows, then the finished run."""
        return RunStream(self._http, f"/runs/{run_id}/stream")

    # -- connections and browsing ------------------------------------------------------

    def connections(self) -> list[Connection]:
        return self._many(Connection, "/connections")

    def test_connection(self, key: str | int) -> Probe:
        return self._one(Probe, "POST", f"/connections/{_seg(key)}/test")

    def schemas(self, key: str | int) -> list[str]:
        return list(self._call("GET", f"/connections/{_seg(key)}/schemas"))

    def tables(self, key: str | int, schema: str | None = None) -> Tables:
        params = {"schema": schema} if schema else {}
        return self._one(Tables, "GET", f"/connections/{_seg(key)}/tables", params=params)

    def propose(
        self,
        key: str | int,
        table: str,
        *,
        dest: str | None = None,
        dest_table: str | None = None,
        name: str | None = None,
    ) -> Proposal:
        """A module drafted from source table `table` (``schema.table``); nothing saved."""
        params = {
            k: v for k, v in {"dest": dest, "dest_table": dest_table, "name": name}.items() if v
        }
        return self._one(
            Proposal,
            "GET",
            f"/connections/{_seg(key)}/tables/{_seg(table)}/propose",
            params=params,
        )
