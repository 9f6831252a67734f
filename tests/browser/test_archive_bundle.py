"""`framegate archive export` writes a bundle that opens offline in Chromium:
its index shows the stages with certificates, each version's poster and playable
proxy, and the chain page recomputes every decision's hash (and catches an
edited one)."""
from __future__ import annotations

import json
import zipfile

from tests.integration.test_approval_api import A, ready_version, signed_in  # noqa: F401 (fixture)
from tests.integration.test_approval_cli import as_user  # noqa: F401 (fixture)


def test_the_archive_bundle_opens_offline(api_url, db, admin, project, ready_version, as_user, browser, tmp_path):
    base = f"{A}/projects/{project['id']}"
    director = signed_in(api_url, db, "director", admin, project)
    note = admin.post(f"/api/v1/review/versions/{ready_version['id']}/notes", json={"frame": 2, "text": "Räder 👍"})
    assert note.status_code == 201
    admin.post("/api/v1/review/links", json={"version_id": ready_version["id"], "kind": "client", "stage": "Brief"})
    assert admin.put(f"{base}/stages/brief-concept/gate", json={"approvers": [director.email]}).status_code == 200
    gate_id = admin.post(f"{base}/submit", json={"version_id": ready_version["id"]}).json()["gate_id"]
    assert director.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve",
                                                                 "reason": "Schön so 👍"}).status_code == 201
    token = admin.session.headers["Authorization"][7:]
    assert as_user(token, "archive", project["name"])[0] == 0

    bundle = tmp_path / "archive.zip"
    code, out, err = as_user(token, "archive", "export", project["name"], "-o", str(bundle), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert (info["versions"], info["certificates"], info["decisions"], info["access_logs"]) == (1, 1, 1, 1)
    code, _, err = as_user(token, "archive", "export", "no-such-project", "-o", str(tmp_path / "x.zip"))
    assert code == 1 and "no project named" in err

    opened = tmp_path / "opened"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(opened)
        names = z.namelist()
    assert any(n.endswith("proxy.mp4") for n in names) and any(n.startswith("certificates/") for n in names)
    assert any(n.startswith("access/") and n.endswith(".csv") for n in names)

    context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    page = context.new_page()
    try:
        page.goto((opened / "index.html").as_uri())
        assert "archived" in page.inner_text("body")
        page.wait_for_function("document.querySelector('video') && document.querySelector('video').readyState >= 1",
                               timeout=30000)
        assert page.eval_on_selector("video", "v => v.duration") > 0.5
        assert page.locator("a[href^='certificates/']").count() == 1
        page.screenshot(path="/tmp/framegate-archive-index.png", full_page=True)
        page.click("#verify")
        page.wait_for_function("document.getElementById('verdict').className !== ''")
        assert page.inner_text("#verdict") == "Chain intact: 1 decisions, every hash recomputed here."

        # an edited decision in the bundle is caught by the same page
        chain_js = opened / "chain" / "decisions.js"
        chain_js.write_text(chain_js.read_text().replace('"decision": "approve"', '"decision": "changes"'))
        page.reload()
        page.wait_for_function("document.getElementById('verdict').className !== ''")
        verdict = page.inner_text("#verdict")
        assert verdict.startswith("Chain broken") and "was edited after it was recorded" in verdict
    finally:
        context.close()
