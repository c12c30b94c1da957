"""Engine tests reuse the per-kind driver fixtures."""

from tests.drivers.conftest import driver_urls, drivers, file_dir  # noqa: F401
