"""The audit trail through the faces: API changes recorded as api:<user>, CLI changes as
cli:<os user>, field names without values, visible at /api/audit (admin only) and
`pipekit audit`."""

from __future__ import annotations

import getpass
import json

import httpx

from tests.helpers import USER, Server, unique_name


def test_api_changes_are_recorded_without_values(server: Server, api: httpx.Client) -> None:
    name = unique_name("aud")
    r = api.post(
        "/api/connections",
        json={"name": name, "url": "sqlite:////tmp/aud.db", "password": "$AUD_SECRET_PW"},
    )
    assert r.status_code == 201, r.text
    assert api.put(f"/api/connections/{name}", json={"user": "etl"}).status_code == 200
    refused = api.put(f"/api/connections/{name}", json={"url": "nope://x"})
    assert refused.status_code == 422  # refused: nothing recorded
    assert api.delete(f"/api/connections/{name}").status_code == 200
    entries = api.get("/api/audit", params={"object_name": name}).json()
    assert [(e["action"], e["fields"]) for e in entries] == [
        ("remove", []),
        ("update", ["user"]),
        ("add", ["name", "password", "supports_deletes", "url"]),
    ]
    assert {e["actor"] for e in entries} == {f"api:{USER}"}
    assert {e["object_type"] for e in entries} == {"connection"}
    assert "AUD_SECRET_PW" not in json.dumps(entries) and "etl" not in json.dumps(entries)
    r = api.get("/api/audit", params={"object_type": "spaceship"})
    assert r.status_code == 422 and "unknown object type 'spaceship'" in r.text


def test_cli_changes_name_the_os_user_and_pipekit_audit_shows_them(server: Server) -> None:
    name = unique_name("audg")
    assert server.cli("groups", "add", name).returncode == 0
    r = server.cli("audit", "--object", name, "--json")
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    assert [(e["actor"], e["action"], e["object_type"]) for e in entries] == [
        (f"cli:{getpass.getuser()}", "add", "group")
    ]
    r = server.cli("audit", "--type", "group", "--user", f"cli:{getpass.getuser()}")
    assert r.returncode == 0 and name in r.stdout
    r = server.cli("audit", "--type", "spaceship")
    assert r.returncode == 1 and "unknown object type 'spaceship'" in r.stderr + r.stdout


def test_only_admins_read_the_trail(server: Server) -> None:
    viewer = unique_name("v")
    r = server.cli("users", "add", viewer, "--role", "editor", input="pw\n")
    assert r.returncode == 0, r.stderr
    with server.client(auth=(viewer, "pw")) as c:
        r = c.get("/api/audit")
        assert r.status_code == 403 and "needs the role 'admin'" in r.json()["detail"]
    with server.client() as admin:
        entry = admin.get("/api/audit", params={"object_name": viewer}).json()[0]
    assert (entry["action"], entry["object_type"]) == ("add", "user")
    assert entry["fields"] == ["name", "password", "role"]  # the word, never the password
