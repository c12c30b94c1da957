"""`PipekitApp`: the Textual application behind `pipekit tui`.

The app holds the API client and what the screens share: the clock and time
zone times are shown in (injected, so snapshots are stable), the editor command,
and two helpers every screen uses:

- `call(fetch, done)`: run an API call in a worker thread, then `done(result)` on
  the app's thread; a ``PipekitError`` (server unreachable, wrong password, a
  refused change) becomes a red notification, never a traceback, and the screen
  stays usable.
- `open_sql(title, text)`: SQL in ``$EDITOR`` (the app suspended), or in the app's
  own viewer when there is no editor or the terminal cannot be handed over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from textual.app import App, SuspendNotSupported
from textual.binding import Binding, BindingType

from pipekit.client import PipekitClient
from pipekit.errors import PipekitError
from pipekit.tui.editor import edit_file
from pipekit.tui.format import Clock, system_clock

T = TypeVar("T")


class PipekitApp(App[None]):
    """The screens and keys of the terminal UI, over `api`."""

    CSS_PATH = "app.tcss"
    TITLE = "Pipekit"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        api: PipekitClient,
        *,
        editor: str | None = None,
        clock: Clock = system_clock,
        tz: dt.tzinfo | None = None,
        poll_s: float = 2.0,
    ) -> None:
        super().__init__()
        self.api = api
        self.editor = editor
        self.clock = clock
        #: the zone times are shown in (None: the machine's)
        self.tz = tz
        #: seconds between looks at the modules' state (0: never, as in benchmarks)
        self.poll_s = poll_s
        self.sub_title = f"{api.user or 'anonymous'} @ {api.url}"

    def on_mount(self) -> None:
        from pipekit.tui.screens.main import MainScreen

        self.push_screen(MainScreen())

    # -- what the screens share ---------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock()

    def show_error(self, exc: PipekitError) -> None:
        """A refused call as a red notification (the message says what to do)."""
        self.notify(str(exc), title=type(exc).__name__, severity="error", timeout=12)

    def call(
        self,
        fetch: Callable[[], T],
        done: Callable[[T], Any],
        *,
        failed: Callable[[PipekitError], Any] | None = None,
        group: str = "api",
    ) -> None:
        """`fetch()` in a worker thread, then `done(result)` (or `failed(error)`, by
        default a notification) on the app's thread."""

        def work() -> None:
            try:
                result = fetch()
            except PipekitError as exc:
                self.call_from_thread(failed or self.show_error, exc)
                return
            self.call_from_thread(done, result)

        self.run_worker(work, thread=True, group=group, exit_on_error=False)

    def open_sql(
        self,
        title: str,
        text: str,
        *,
        writable: bool = False,
        saved: Callable[[str], Any] | None = None,
    ) -> None:
        """Show `text` in the editor; when `writable`, `saved(new_text)` if it changed."""
        if self.editor and not self.is_headless:
            try:
                with self.suspend():
                    after = edit_file(self.editor, title, text, writable=writable)
            except SuspendNotSupported:
                pass
            else:
                if writable and saved is not None and after is not None and after != text:
                    saved(after)
                return
        from pipekit.tui.screens.dialogs import SqlScreen

        def closed(after: str | None) -> None:
            if writable and saved is not None and after is not None and after != text:
                saved(after)

        self.push_screen(SqlScreen(title, text, writable=writable), closed)
