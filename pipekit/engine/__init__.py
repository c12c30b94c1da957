"""The engine: services above the store and the drivers (connections, runs, groups)."""
