"""`pipekit users add|list|set-role|rm` and `pipekit set-password`: roles from the command
line, the last admin kept, bad inputs refused in one line with nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import Invoke, assert_clean_failure


def _roles(cli: Invoke) -> dict[str, str]:
    r = cli("users", "list", "--json")
    assert r.exit_code == 0, r.output
    return {u["name"]: u["role"] for u in json.loads(r.output)}


def test_users_add_list_set_role_rm(cli: Invoke, home: Path) -> None:
    r = cli("set-password", "root", input="pw\n")
    assert r.exit_code == 0 and "password set for root (role admin)" in r.output
    r = cli("users", "add", "ann", "--role", "editor", input="pw\n")
    assert r.exit_code == 0 and "added user ann (role editor)" in r.output
    r = cli("users", "add", "bob", input="pw\n")
    assert r.exit_code == 0 and "(role viewer)" in r.output
    assert _roles(cli) == {"ann": "editor", "bob": "viewer", "root": "admin"}
    r = cli("users", "list")
    assert r.exit_code == 0 and "editor" in r.output and "ann" in r.output
    r = cli("users", "set-role", "bob", "operator")
    assert r.exit_code == 0 and "user bob is now operator" in r.output
    r = cli("users", "rm", "bob", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["role"] == "operator"
    assert _roles(cli) == {"ann": "editor", "root": "admin"}
    # set-password keeps working and keeps the role
    r = cli("set-password", "ann", input="new\n")
    assert r.exit_code == 0 and "(role editor)" in r.output


def test_bad_inputs_are_refused_and_change_nothing(cli: Invoke, home: Path) -> None:
    cli("set-password", "root", input="pw\n")
    assert_clean_failure(
        cli("users", "add", "zed", "--role", "root", input="pw\n"),
        "unknown role 'root'; use one of viewer, operator, editor, admin",
    )
    assert_clean_failure(cli("users", "add", "zed", input="\n"), "password for user 'zed' is empty")
    assert_clean_failure(cli("users", "add", "root", input="pw\n"), "user 'root' already exists")
    assert_clean_failure(cli("users", "set-role", "ghost", "admin"), "no user named 'ghost'")
    assert_clean_failure(
        cli("users", "set-role", "root", "viewer"), "cannot demote 'root': it is the last admin"
    )
    assert_clean_failure(cli("users", "rm", "root"), "cannot remove 'root': it is the last admin")
    assert _roles(cli) == {"root": "admin"}
    r = cli("users", "rm", "root", "--json")
    assert r.exit_code == 1
    assert json.loads(r.stderr)["error"] == "UserSpecError"
