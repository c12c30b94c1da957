"""``pipekit connector new``: a working connector to start from.

It writes ``<folder>/<name>/`` with ``connector.yaml``, ``connector.py`` (one
table, ``items``, that yields rows, plus the method of every other capability
asked for), and ``tests/test_connector.py`` running the contract tests. The
result passes ruff and its own contract tests as written, so an author starts
from green and replaces the sample rows with calls to the source.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pipekit.connectors.protocol import SAFE_NAME, Cap
from pipekit.errors import AlreadyExistsError, InvalidError

__all__ = ["DEFAULT_CAPS", "class_name", "scaffold"]

DEFAULT_CAPS = Cap.DISCOVER | Cap.READ

_CONNECTOR_HEAD = '''"""The {name} connector (made by `pipekit connector new`).

Replace the sample rows of `items` with calls to the source; keep each batch's
schema equal to the one discover() declares.
"""

from __future__ import annotations

from collections.abc import {iterators}
from typing import Any

import pyarrow as pa
from pipekit.connectors import {imports}

ITEMS = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string()),
    ]
)


def _items(first: int, last: int) -> pa.RecordBatch:
    ids = list(range(first, last + 1))
    return pa.RecordBatch.from_pydict(
        {{"id": ids, "name": [f"item {{i}}" for i in ids]}},
        schema=ITEMS,
    )


class {cls}:
    """{name}: what it reads, from where."""

    capabilities = {caps}

    def __init__(self, config: dict[str, Any]) -> None:
        self.rows = int(config.get("rows", 25))
'''

_DISCOVER = """
    def discover(self) -> list[TableInfo]:
        return [
            TableInfo(
                name="items",
                schema=ITEMS,
                capabilities={table_caps},
                primary_key=["id"],
                description="Sample items",
                incremental_key="id",
            )
        ]
"""

_READ = """
    def read(self, table: str, options: ReadOptions) -> Iterator[pa.RecordBatch]:
        if table != "items":
            raise ValueError(f"unknown table {{table!r}}")
        first = 1
        if options.incremental_value is not None:
            after = int(options.incremental_value)
            first = after if options.incremental_op == ">=" else after + 1
        for start in range(first, self.rows + 1, options.batch_size):
            yield _items(start, min(start + options.batch_size - 1, self.rows))
"""

_STREAM = """
    async def stream(self, table: str) -> AsyncIterator[pa.RecordBatch]:
        # Yield what has arrived (webhook events, changes), then return.
        yield _items(self.rows + 1, self.rows + 1)
"""

_REMOTE = """
    def remote(self) -> RemoteAttachInfo:
        # The DuckDB extension that queries the source in place.
        # token_env is the NAME of a variable, never the token itself.
        return RemoteAttachInfo(
            extension="{name}",
            url="{name}://example",
            token_env="{env}",
        )
"""

_MANIFEST = """name: {name}
version: "0.1.0"
description: The {name} connector
entrypoint: {name}.connector.{cls}
capabilities: [{cap_names}]
auth:
  type: {auth}{env_vars}
config:
  rows:
    type: integer
    default: 25
    description: How many sample items the table holds
"""

_TEST = '''"""Contract tests of the {name} connector."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pipekit.connectors import Cap
from pipekit.connectors.contract_tests import ConnectorContract

from ..connector import {cls}


class TestContract(ConnectorContract):
    @pytest.fixture
    def connector(self) -> {cls}:
        return {cls}({{"rows": 25}})

    @pytest.fixture
    def manifest_caps(self) -> Cap:
        return {caps}

    @pytest.fixture
    def connector_tables(self) -> Sequence[str] | None:
        return {tables}
'''


def class_name(name: str) -> str:
    """``my_api`` -> ``MyApiConnector``."""
    return "".join(p[:1].upper() + p[1:] for p in name.split("_") if p) + "Connector"


def _caps_expr(caps: Cap) -> str:
    return " | ".join(f"Cap.{c.name}" for c in caps if c.name)


def scaffold(name: str, caps: Cap, folder: Path) -> Path:
    """Write the connector `name` into ``folder/name``; returns that folder.

    InvalidError for a name that is not a valid, free module name or caps without
    READ or STREAM (the table must yield rows); AlreadyExistsError if the folder is there.
    """
    if not SAFE_NAME.match(name) or name != name.lower() or len(name) > 40:
        raise InvalidError(
            f"connector name {name!r} must be lower-case letters, digits and _, "
            "not starting with a digit, at most 40 characters (it is also a Python "
            "package name)",
            path="name",
        )
    if importlib.util.find_spec(name) is not None:
        raise InvalidError(
            f"a Python module named {name!r} already exists and would shadow the connector; "
            "choose another name",
            path="name",
        )
    if not caps & (Cap.READ | Cap.STREAM):
        raise InvalidError(
            "the capabilities must include read or stream: the new connector's table "
            "yields rows (e.g. --caps discover,read)",
            path="caps",
        )
    target = folder / name
    if target.exists():
        raise AlreadyExistsError(f"{target} already exists; choose another name or folder")
    for path, text in _files(name, caps).items():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_text(text, encoding="utf-8")
    return target


def _files(name: str, caps: Cap) -> dict[str, str]:
    cls = class_name(name)
    env = f"{name.upper()}_TOKEN"
    iterators = [n for c, n in ((Cap.STREAM, "AsyncIterator"), (Cap.READ, "Iterator")) if c in caps]
    imports = ["Cap"]
    imports += [
        n
        for c, n in (
            (Cap.READ, "ReadOptions"),
            (Cap.REMOTE, "RemoteAttachInfo"),
            (Cap.DISCOVER, "TableInfo"),
        )
        if c in caps
    ]
    code = _CONNECTOR_HEAD.format(
        name=name,
        cls=cls,
        caps=_caps_expr(caps),
        iterators=", ".join(iterators),
        imports=", ".join(imports),
    )
    if Cap.DISCOVER in caps:
        code += _DISCOVER.format(table_caps=_caps_expr(caps & (Cap.READ | Cap.STREAM | Cap.REMOTE)))
    if Cap.READ in caps:
        code += _READ.format(name=name)
    if Cap.STREAM in caps:
        code += _STREAM
    if Cap.REMOTE in caps:
        code += _REMOTE.format(name=name, env=env)
    env_vars = ""
    if Cap.REMOTE in caps:
        env_vars = (
            f"\n  env_vars:\n    - name: {env}\n      required: false\n"
            f"      description: The token the DuckDB extension reads"
        )
    tables = "None" if Cap.DISCOVER in caps else '["items"]'
    return {
        "__init__.py": f'"""The {name} connector."""\n',
        "connector.yaml": _MANIFEST.format(
            name=name,
            cls=cls,
            cap_names=", ".join(caps.names),
            auth="token" if Cap.REMOTE in caps else "none",
            env_vars=env_vars,
        ),
        "connector.py": code,
        "tests/__init__.py": "",
        "tests/test_connector.py": _TEST.format(
            cls=cls, name=name, caps=_caps_expr(caps), tables=tables
        ),
    }
