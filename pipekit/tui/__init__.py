"""`pipekit tui`: the terminal UI of seeds/001 (screens and keys), a client of the
REST API only (``pipekit.client``); it never imports the services or anything
below them. Start it with `pipekit tui [--url URL] [--user USER]`."""

from __future__ import annotations

from pipekit.tui.app import PipekitApp

__all__ = ["PipekitApp"]
