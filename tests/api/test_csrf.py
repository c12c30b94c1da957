"""CSRF: state-changing API requests are JSON only (YAML under its own type for apply)
and never cross-site; what another site's page could send is refused, nothing changed."""

from __future__ import annotations

import httpx

from tests.helpers import PASSWORD, USER, Server

MANIFEST = "groups:\n  csrf_group: []\n"


def _raw(server: Server) -> httpx.Client:
    """A client that sends no content type of its own (as a browser's form would not)."""
    return httpx.Client(base_url=server.url, auth=(USER, PASSWORD), timeout=30)


def test_apply_refuses_text_plain_and_forms(server: Server, api: httpx.Client) -> None:
    before = api.get("/api/export").text
    with _raw(server) as c:
        r = c.post("/api/apply", content=MANIFEST, headers={"content-type": "text/plain"})
        assert r.status_code == 415
        assert r.json()["error"] == "UnsupportedMediaError"
        assert "Content-Type text/plain is not accepted here" in r.json()["detail"]
        assert "application/yaml or application/x-yaml" in r.json()["detail"]
        r = c.post("/api/apply", data={"manifest": MANIFEST})  # a form body
        assert r.status_code == 415, r.text
        assert "application/x-www-form-urlencoded" in r.json()["detail"]
        r = c.post("/api/apply", files={"f": ("m.yaml", MANIFEST)})
        assert r.status_code == 415
    assert api.get("/api/export").text == before
    assert "csrf_group" not in api.get("/api/groups").text


def test_apply_takes_yaml_under_its_media_types(server: Server, api: httpx.Client) -> None:
    for media in ("application/yaml", "application/x-yaml"):
        r = api.post("/api/apply?dry_run=true", content=MANIFEST, headers={"content-type": media})
        assert r.status_code == 200, (media, r.text)
        assert r.json()["dry_run"] is True


def test_a_run_needs_a_json_content_type(server: Server) -> None:
    with _raw(server) as c:
        r = c.post("/api/modules/nothing_here/run")  # empty, no content type
        assert r.status_code == 415
        assert "Content-Type (none) is not accepted here; send application/json" in r.text
        r = c.post("/api/modules/nothing_here/run", data={"dry_run": "true"})
        assert r.status_code == 415
        # JSON, even empty, reaches the route (which then says what is wrong)
        r = c.post("/api/modules/nothing_here/run", headers={"content-type": "application/json"})
        assert r.status_code == 404
        r = c.put("/api/groups/0", content="name: x", headers={"content-type": "text/plain"})
        assert r.status_code == 415
        assert c.delete("/api/groups/0").status_code == 404  # a DELETE needs no body


def test_cross_site_requests_are_refused(server: Server, api: httpx.Client) -> None:
    before = api.get("/api/groups").json()
    evil = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": f"http://127.0.0.1:{server.port + 1}"},  # another port, another origin
        {"Sec-Fetch-Site": "cross-site"},
    ]
    for headers in evil:
        r = api.post("/api/groups", json={"name": "csrf_g2"}, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["error"] == "PermissionDeniedError"
        assert "cross-site request refused" in r.json()["detail"]
        assert api.delete("/api/groups/csrf_g2", headers=headers).status_code == 403
    assert api.get("/api/groups").json() == before
    # reading is not refused, and the server's own origin may write
    assert api.get("/api/groups", headers=evil[0]).status_code == 200
    own = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    r = api.post("/api/groups", json={"name": "csrf_g3"}, headers=own)
    assert r.status_code == 201, r.text
    assert api.delete("/api/groups/csrf_g3", headers=own).status_code == 200
