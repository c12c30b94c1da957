"""Pipekit: self-hosted, config-driven database sync.

Layers, bottom to top (each imports only from the ones below it):
``store`` -> ``drivers`` -> ``connectors`` -> ``engine`` -> ``api`` / ``web`` /
``tui`` / ``cli``. See docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
