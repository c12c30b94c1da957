"""Pipekit inside other tools: ``pipekit.integrations.dagster`` (extra ``pipekit[dagster]``).

An integration sits at the top layer beside the faces and, like them, calls the
service layer only: it never touches the state store or the drivers itself.
"""
