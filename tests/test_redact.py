"""``redact``: the one place secret values are masked, and errors that apply it when made."""

from __future__ import annotations

import pickle

import pytest

from pipekit import errors
from pipekit.errors import (
    DatabaseError,
    ManifestError,
    ModuleBusyError,
    PipekitError,
    Problem,
    TerminalDatabaseError,
    ValidationError,
)
from pipekit.redact import redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("cannot parse postgresql://etl:hunter2@db1:99999/erp", "hunter2"),
        ("mysql://root:p@ss:w0rd@db/erp refused", "p@ss:w0rd"),
        ("mssql+pyodbc://:onlypw@host/db", "onlypw"),
        ("postgresql://db1/erp?user=x&password=hunter2&sslmode=require", "hunter2"),
        ("dsn: host=db1 password=hunter2 dbname=erp", "hunter2"),
        ("PGPASSWORD='hunter 2' psql", "hunter 2"),
        ("jdbc:sqlserver://db1;user=sa;password=hunter2;database=erp", "hunter2"),
    ],
)
def test_secrets_are_masked(text: str, secret: str) -> None:
    shown = redact(text)
    assert secret not in shown
    assert "***" in shown


def test_what_is_not_a_secret_is_kept() -> None:
    for text in (
        "sqlite:///home/etl/warehouse.db",
        "postgresql://etl@db1:5432/erp",
        "unexpected token: FROM at line 1",
        "secret ERP_PW is not set; set it with `pipekit secrets set ERP_PW`",
    ):
        assert redact(text) == text


def test_known_secret_values_are_masked_anywhere() -> None:
    assert redact("FATAL: auth failed for s3cr3t-value", ["s3cr3t-value", None]) == (
        "FATAL: auth failed for ***"
    )


def test_every_error_is_redacted_when_made() -> None:
    url = "postgresql://u:hunter2@db1:99999/erp"
    for cls in (PipekitError, errors.ConnectionSpecError, errors.NotFoundError):
        assert "hunter2" not in str(cls(f"bad URL {url}"))
    db = TerminalDatabaseError(f"connect {url}", reason=f"refused {url}")
    assert "hunter2" not in str(db) and "hunter2" not in (db.reason or "")
    problems = [Problem("connections.erp.url", f"bad {url}")]
    assert "hunter2" not in str(ValidationError(problems))
    assert "hunter2" not in str(ManifestError(problems, "deploy.yaml"))


def test_errors_carry_their_path_and_problems() -> None:
    e = errors.ModuleSpecError("merge_key 'x' is not a column", path="merge_key")
    assert e.path == "merge_key"
    assert e.problems == [Problem("merge_key", "merge_key 'x' is not a column")]
    v = ValidationError([Problem("a", "one"), Problem("b.c", "two")], "module 'm'")
    assert [p.path for p in v.problems] == ["a", "b.c"]
    assert "2 problems" in str(v) and v.path is None
    assert isinstance(v, ValueError)  # callers that catch ValueError keep working


def test_errors_survive_pickling() -> None:
    """Errors cross process boundaries (worker processes report them)."""
    cases = [
        ModuleBusyError("busy", run_id=7),
        TerminalDatabaseError("no", reason="because"),
        ValidationError([Problem("a", "one")], "x"),
        ManifestError([Problem("a", "one")], "f.yaml"),
    ]
    for exc in cases:
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc)
    assert pickle.loads(pickle.dumps(cases[0])).run_id == 7
    assert isinstance(pickle.loads(pickle.dumps(cases[1])), DatabaseError)


def test_every_error_class_is_in_the_tree_drawn_in_the_docstring() -> None:
    doc = errors.__doc__ or ""
    classes = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, PipekitError)
    ]
    assert set(classes) == set(errors.__all__) - {"Problem"}
    for name in classes:
        assert f" {name} " in doc or f"{name}  " in doc, f"{name} is not drawn in errors.py"


def test_a_remembered_secret_value_is_masked_in_any_text() -> None:
    from pipekit.redact import remember

    remember(["Rem3mbered-Value", "Rem3mbered-Value-Longer", "ab", None])
    assert redact("SELECT 'Rem3mbered-Value' AS x") == "SELECT '***' AS x"
    # the longer secret first, so no tail of it is left showing
    assert redact("got Rem3mbered-Value-Longer") == "got ***"
    assert redact("ab stays: too short to mask") == "ab stays: too short to mask"


def test_values_read_from_the_secrets_file_are_remembered(tmp_path) -> None:
    from pipekit.secrets import SecretsFile

    f = SecretsFile(tmp_path / "secrets.env")
    f.path.write_text("API_TOKEN=tok-from-the-file-991\n")
    f.read()
    assert redact("error near 'tok-from-the-file-991'") == "error near '***'"
