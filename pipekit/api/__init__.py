"""The REST API (FastAPI, under ``/api``): see docs/api.md. ``router.py`` gathers the routes;
``pipekit.server.app.create_app`` mounts them."""
