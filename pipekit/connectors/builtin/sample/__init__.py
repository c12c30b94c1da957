"""The ``sample`` connector: deterministic rows, for trying the Kit and for tests."""
