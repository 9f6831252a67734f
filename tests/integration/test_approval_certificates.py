"""Certificates of closed gates, end to end on the stack: issued once, stored
in the certificates bucket, verified publicly; an edited PDF or an edited
decision record fails verification with the reason."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import requests

from tests.integration.test_approval_api import A, ready_version, signed_in  # noqa: F401 (fixture)


def close_a_gate(api_url, db, admin, project, version):
    base = f"{A}/projects/{project['id']}"
    cd, client = signed_in(api_url, db, "director", admin, project), signed_in(api_url, db, "client", admin, project)
    admin.put(f"{base}/stages/brief-concept/gate", json={"approvers": [cd.email, client.email], "sequential": True,
                                                         "scope": "Story, tone and casting; not the grade."})
    gate_id = admin.post(f"{base}/submit", json={"version_id": version["id"]}).json()["gate_id"]
    cd.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve"}, headers={"User-Agent": "Firefox 140 on macOS"})
    closed = client.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve"},
                         headers={"User-Agent": "Safari 18 on iPad"})
    assert closed.json()["stage"]["closed"] is True, closed.text
    return gate_id


def verify(api_url, pdf: bytes) -> dict:
    response = requests.post(f"{api_url}{A}/certificates/verify", files={"file": ("c.pdf", pdf, "application/pdf")})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_closed_gate_has_a_signed_certificate_that_verifies(api_url, db, admin, project, ready_version):
    gate_id = close_a_gate(api_url, db, admin, project, ready_version)
    response = admin.get(f"{A}/gates/{gate_id}/certificate")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    pdf, cert_id = response.content, response.headers["X-Certificate-Id"]
    stage = admin.get(f"{A}/projects/{project['id']}/stage", params={"stage": "brief-concept"}).json()
    assert stage["certificate_id"] == cert_id
    assert admin.get(f"{A}/gates/{gate_id}/certificate").content == pdf  # issued once, served again
    assert db.approval_certificates.count_documents({"gate_id": gate_id}) == 1

    result = verify(api_url, pdf)
    assert result["valid"] is True and result["certificate_id"] == cert_id, result
    assert result["facts"]["version_number"] == ready_version["number"]
    assert result["facts"]["sha256"] == ready_version["sha256"]
    assert [d["user_agent"] for d in result["facts"]["decisions"]] == ["Firefox 140 on macOS", "Safari 18 on iPad"]
    page = requests.get(f"{api_url}/verify/{cert_id}")  # public: no sign-in
    assert page.status_code == 200 and 'data-valid="true"' in page.text and "Story, tone and casting" in page.text

    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert ready_version["sha256"] in text.replace("\n", "") and cert_id in text and "Safari 18 on iPad" in text
    if os.environ.get("APPROVAL_CERTIFICATE_OUT"):  # for rendering the docs' picture
        Path(os.environ["APPROVAL_CERTIFICATE_OUT"]).write_bytes(pdf)


def test_one_changed_byte_fails_verification(api_url, db, admin, project, ready_version):
    gate_id = close_a_gate(api_url, db, admin, project, ready_version)
    pdf = bytearray(admin.get(f"{A}/gates/{gate_id}/certificate").content)
    pdf[len(pdf) // 3] ^= 0x01
    result = verify(api_url, bytes(pdf))
    assert result["valid"] is False and "edited" in result["reasons"][0], result


def test_an_edited_decision_record_fails_verification_with_the_reason(api_url, db, admin, project, ready_version):
    gate_id = close_a_gate(api_url, db, admin, project, ready_version)
    response = admin.get(f"{A}/gates/{gate_id}/certificate")
    pdf, cert_id = response.content, response.headers["X-Certificate-Id"]
    first = db.approval_decisions.find_one({"gate_id": gate_id}, sort=[("chain_n", 1)])
    db.approval_decisions.update_one({"_id": first["_id"]}, {"$set": {"reason": "provisional approval only"}})
    result = verify(api_url, pdf)
    assert result["valid"] is False
    assert any(first["email"] in r and "no longer matches" in r for r in result["reasons"]), result
    assert any("broken decision chain" in r and "edited" in r for r in result["reasons"]), result
    page = requests.get(f"{api_url}/verify/{cert_id}")
    assert 'data-valid="false"' in page.text and "no longer matches" in page.text


def test_unknown_certificates_and_non_pdfs_are_refused_clearly(api_url):
    page = requests.get(f"{api_url}/verify/{'0' * 32}")
    assert page.status_code == 404 and "unknown certificate id" in page.text
    result = verify(api_url, b"%PDF-1.7 not really")
    assert result["valid"] is False and result["reasons"]
    empty = requests.post(f"{api_url}{A}/certificates/verify", data=b"")
    assert empty.status_code == 400 and empty.json()["error"] == "pdf_required"
