"""The base of every screen: typed access to the app (`self.pk`), its API client and
its helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from pipekit.client import PipekitClient
    from pipekit.tui.app import PipekitApp

R = TypeVar("R")


class AppScreen(Screen[R]):
    @property
    def pk(self) -> PipekitApp:
        return cast("PipekitApp", self.app)

    @property
    def api(self) -> PipekitClient:
        return self.pk.api
