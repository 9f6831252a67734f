"""Approval certificates: issued once per closed gate, stored write-once in
the `certificates` bucket, verified by signature and against the record."""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Callable

from pymongo.database import Database

from services.common.mongo import insert_unique
from services.common.storage import ObjectStore

from . import certificate_pdf, chain, pdf_signing, store
from .gates import parse_gate
from .signing_key import SigningKey

log = logging.getLogger("framegate.approval.certificates")
BUCKET = "certificates"


@dataclass
class Certifier:
    db: Database
    objects: ObjectStore
    key: Callable[[], SigningKey]
    public_url: str

    def verify_url(self, certificate_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/verify/{certificate_id}"


def certificate_facts(closure: dict, round_doc: dict, decisions: list[dict], certificate_id: str,
                      verify_url: str) -> dict:
    """What the certificate states, from the closure, its round and the round's decisions."""
    ordered = sorted(decisions, key=lambda d: d["chain_n"])
    gate = parse_gate(round_doc["gate"])
    rule = "; ".join(f"{p.name}: {p.rule}{' in order' if p.sequential else ''} of {len(p.approvers)}"
                     for p in gate.paths)
    return {
        "certificate_id": certificate_id, "verify_url": verify_url,
        "production": round_doc.get("production") or round_doc["project_id"],
        "asset": round_doc.get("asset_name") or round_doc["asset_id"],
        "stage": round_doc["stage"], "stage_title": round_doc.get("stage_title") or round_doc["stage"],
        "scope": gate.scope, "rule": rule, "round": round_doc["n"],
        "version_id": round_doc["version_id"], "version_number": round_doc["version_number"],
        "sha256": round_doc["sha256"], "closed_at": store.iso(closure["closed_at"]),
        "chain_head": ordered[-1]["hash"] if ordered else chain.GENESIS,
        "decisions": [{k: d.get(k) for k in ("name", "email", "decision", "reason", "decided_at", "ip", "user_agent")}
                      for d in ordered],
    }


def _poster(c: Certifier, round_doc: dict) -> bytes | None:
    if not (round_doc.get("poster_bucket") and round_doc.get("poster_key")):
        return None
    try:
        return c.objects.get_bytes(round_doc["poster_bucket"], round_doc["poster_key"])
    except Exception as err:  # a certificate without a poster beats no certificate
        log.warning("poster frame unavailable", extra={"error": str(err)})
        return None


def certificate_for_gate(db: Database, gate_id: str) -> dict | None:
    return db.approval_certificates.find_one({"gate_id": gate_id})


def issue(c: Certifier, closure: dict) -> dict:
    """The gate's certificate, made once: a race between two issuers keeps the first record."""
    existing = certificate_for_gate(c.db, closure["_id"])
    if existing:
        return existing
    round_doc = c.db.approval_rounds.find_one({"_id": f"{closure['_id']}:{closure['round']}"})
    decisions = [d for d in store.decisions(c.db, closure["_id"], closure["round"])
                 if d["_id"] in set(closure["decision_ids"])]
    certificate_id = uuid.uuid4().hex
    facts = certificate_facts(closure, round_doc, decisions, certificate_id, c.verify_url(certificate_id))
    signed = pdf_signing.sign(certificate_pdf.render(facts, _poster(c, round_doc)), c.key(), certificate_id)
    bucket, key = c.objects.bucket(BUCKET), f"{round_doc['project_id']}/{closure['_id']}/{certificate_id}.pdf"
    # A fresh id per attempt means an object is never overwritten (write-once);
    # the object is stored before its record, so a record never points at nothing.
    c.objects.put_bytes(bucket, key, signed, "application/pdf")
    doc = {"_id": certificate_id, "gate_id": closure["_id"], "project_id": round_doc["project_id"],
           "bucket": bucket, "key": key, "pdf_sha256": hashlib.sha256(signed).hexdigest(),
           "decisions": [{"id": d["_id"], "hash": d["hash"]} for d in decisions],
           "facts": facts, "issued_at": store.now()}
    if not insert_unique(c.db.approval_certificates, doc):
        c.objects.remove(bucket, key)  # another issuer won; keep only its certificate
        return certificate_for_gate(c.db, closure["_id"])
    return doc


def record_problems(db: Database, cert: dict) -> list[str]:
    """Whether the decisions a certificate states still match the record, and the chain holds."""
    problems = []
    for stated in cert["decisions"]:
        current = db.approval_decisions.find_one({"_id": stated["id"]})
        if current is None:
            problems.append(f"decision {stated['id']} stated on the certificate is no longer in the record")
        elif chain.record_hash(current) != stated["hash"] or current.get("hash") != stated["hash"]:
            problems.append(f"the decision of {current.get('email')} no longer matches the certificate "
                            "(the record was edited)")
    problems += [f"broken decision chain: {p}" for p in chain.chain_problems(store.project_chain(db, cert["project_id"]))]
    return problems


def verify_id(c: Certifier, certificate_id: str) -> dict:
    cert = c.db.approval_certificates.find_one({"_id": certificate_id})
    if cert is None:
        return {"valid": False, "certificate_id": certificate_id,
                "reasons": ["unknown certificate id: this installation never issued it"]}
    problems = record_problems(c.db, cert)
    return {"valid": not problems, "certificate_id": certificate_id, "reasons": problems or
            ["the decisions match the record and the decision chain is intact"], "facts": cert["facts"]}


def verify_pdf(c: Certifier, pdf: bytes) -> dict:
    """Valid or invalid, and why: the signature first, then the record behind it."""
    signature = pdf_signing.check(pdf, c.key())
    if not signature.ok:
        return {"valid": False, "certificate_id": signature.certificate_id, "reasons": [signature.reason]}
    result = verify_id(c, signature.certificate_id)
    cert = c.db.approval_certificates.find_one({"_id": signature.certificate_id})
    if cert and cert["pdf_sha256"] != hashlib.sha256(pdf).hexdigest():
        result["valid"] = False
        result["reasons"] = ["this PDF is not the certificate stored for that id"] + \
            [r for r in result["reasons"] if not r.startswith("the decisions match")]
    if result["valid"]:
        result["reasons"] = [signature.reason] + result["reasons"]
    return result
