"""The routers of the REST API, mounted under /api by ``pipekit.api.router``."""
