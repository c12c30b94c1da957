"""The API suite's fixtures: a real `pipekit serve` (`server`) and a client for it (`api`)."""

from tests.api.conftest import api, server  # noqa: F401
