"""The connectors shipped with Pipekit, one folder each (``connector.yaml`` + code)."""
