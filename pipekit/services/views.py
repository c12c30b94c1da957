"""View models: what every face shows of an object, and how it becomes JSON.

Services return frozen dataclasses (``ModuleView``, ``RunView``, ...). The API
declares them as its response models, the CLI prints them as tables or, with
``--json``, as the very JSON the API returns (``dump_json``), and the web pages
render them. pydantic is imported only when JSON is asked for, so the CLI's
start-up does not pay for it.
"""

from __future__ import annotations

import json
from typing import Any


def to_json(value: Any) -> Any:
    """`value` (a view, a list of views, a dict ...) as plain JSON data, as the API sends it."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


def dump_json(value: Any) -> str:
    """`value` as indented JSON text (the CLI's ``--json`` output)."""
    return json.dumps(to_json(value), indent=2, ensure_ascii=False)
