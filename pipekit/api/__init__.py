"""The REST API (FastAPI, under ``/api``): see docs/api.md. Import ``create_app`` from ``app``."""
