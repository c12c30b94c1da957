"""Every API route declares the role it needs, and each role is held to it, route by
route from the OpenAPI document (like test_auth.py); docs/security.md lists the same."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipekit.api.auth import declared_role
from pipekit.api.router import RESOURCES
from pipekit.roles import ROLES, allows
from tests.helpers import PASSWORD, USER, Server

DOCS = Path(__file__).parents[2] / "docs" / "security.md"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, empty: the walk's allowed writes find nothing to change."""
    home = tmp_path_factory.mktemp("roles")
    (home / "pipekit.yaml").write_text("database: state.db\n")
    srv = Server(home, 0)
    assert srv.cli("init").returncode == 0
    assert srv.cli("set-password", USER, input=PASSWORD + "\n").returncode == 0
    for role in ROLES:
        r = srv.cli("users", "add", f"u_{role}", "--role", role, input="pw-" + role + "\n")
        assert r.returncode == 0, r.stderr
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def operations(doc: dict) -> list[tuple[str, str, str | None]]:
    """(METHOD, path, x-required-role) of every operation under /api."""
    return [
        (method.upper(), path, op.get("x-required-role"))
        for path, ops in doc["paths"].items()
        if path.startswith("/api/")
        for method, op in ops.items()
    ]


def test_every_route_in_the_code_declares_a_role() -> None:
    routes = [r for module in RESOURCES for r in module.router.routes]
    assert len(routes) > 60
    missing = [
        f"{sorted(r.methods)} {r.path}"  # type: ignore[attr-defined]
        for r in routes
        if declared_role(r) is None
    ]
    assert missing == [], "declare a role with sv: Services = deps.VIEWER (...ADMIN)"


def test_each_role_gets_403_or_passes_on_every_route(live: Server) -> None:
    with live.client() as admin:
        ops = operations(admin.get("/openapi.json").json())
    assert len(ops) > 60
    undeclared = [(m, p) for m, p, role in ops if role not in ROLES]
    assert undeclared == []
    for held in ROLES:
        with live.client(auth=(f"u_{held}", f"pw-{held}")) as c:
            for method, path, needed in ops:
                assert needed is not None
                url = re.sub(r"\{[^}]+\}", "0", path)  # id 0: nothing is ever there
                kwargs = {} if method in ("GET", "DELETE") else {"json": {}}
                if path.endswith("/stream") and method == "GET":
                    continue  # an event stream of a run that does not exist: 404 either way
                r = c.request(method, url, **kwargs)
                assert r.status_code != 401, (held, method, path)
                if allows(held, needed):
                    assert r.status_code != 403, (held, method, path, r.text)
                else:
                    assert r.status_code == 403, (held, method, path, r.status_code)
                    body = r.json()
                    assert body["error"] == "PermissionDeniedError"
                    assert f"needs the role '{needed}'" in body["detail"], body
                    assert f"has '{held}'" in body["detail"], body


def test_a_refused_write_changes_nothing(live: Server) -> None:
    with live.client(auth=("u_editor", "pw-editor")) as editor:
        r = editor.post("/api/connections", json={"name": "c", "url": "sqlite:////tmp/x.db"})
        assert r.status_code == 403
        assert "needs the role 'admin'" in r.json()["detail"]
        assert editor.get("/api/connections").json() == []
    with live.client(auth=("u_viewer", "pw-viewer")) as viewer:
        assert viewer.post("/api/groups", json={"name": "g"}).status_code == 403
        assert viewer.get("/api/groups").json() == []
        assert viewer.get("/api/users").status_code == 403  # users: admin only


def test_users_api_manages_roles_and_keeps_an_admin(live: Server) -> None:
    with live.client() as admin:
        r = admin.post("/api/users", json={"name": "zoe", "password": "pw", "role": "operator"})
        assert r.status_code == 201 and r.json()["role"] == "operator"
        assert "password" not in r.json() and "password_hash" not in r.text
        r = admin.post("/api/users", json={"name": "zed", "password": "pw", "role": "root"})
        assert r.status_code == 422
        assert "unknown role 'root'; use one of viewer, operator, editor, admin" in r.text
        assert admin.put("/api/users/zoe", json={"role": "editor"}).json()["role"] == "editor"
        names = {u["name"]: u["role"] for u in admin.get("/api/users").json()}
        assert names["zoe"] == "editor" and names[USER] == "admin"
        admin.put("/api/users/u_admin", json={"role": "viewer"})
        r = admin.delete(f"/api/users/{USER}")
        assert r.status_code == 422 and "last admin" in r.json()["detail"][0]["msg"]
        r = admin.put(f"/api/users/{USER}", json={"role": "viewer"})
        assert r.status_code == 422 and "last admin" in r.text
        assert admin.get(f"/api/users/{USER}").json()["role"] == "admin"
        assert admin.delete("/api/users/zoe").json()["name"] == "zoe"
        assert admin.get("/api/users/zoe").status_code == 404
        admin.put("/api/users/u_admin", json={"role": "admin"})


def test_docs_list_every_route_with_its_role(live: Server) -> None:
    """docs/security.md's route table is the OpenAPI document's declarations."""
    with live.client() as c:
        ops = operations(c.get("/openapi.json").json())
    text = DOCS.read_text()
    want = [f"| `{m} {p}` | {role} |" for m, p, role in sorted(ops, key=lambda o: (o[1], o[0]))]
    have = [line for line in text.splitlines() if re.match(r"\| `[A-Z]+ /", line)]
    assert have == want, "\n".join(want)


def test_the_tui_client_raises_the_refusal_with_the_role(live: Server) -> None:
    """pipekit.client (under the TUI) turns a 403 into PermissionDeniedError, whose
    message the TUI shows as its notification."""
    from pipekit.client.http import PipekitClient
    from pipekit.errors import PermissionDeniedError

    with PipekitClient(live.url, "u_viewer", "pw-viewer") as client:
        with pytest.raises(PermissionDeniedError, match="needs the role 'operator'"):
            client.start_run("anything")
        assert client.connections() == []


def test_web_pages_and_api_name_the_same_roles() -> None:
    from pipekit.web.routes import routers
    from pipekit.web.security import ANONYMOUS
    from pipekit.web.security import declared_role as web_role

    roles = {web_role(r) for rt in routers() for r in rt.routes} - {ANONYMOUS}
    assert roles <= set(ROLES) and None not in roles
