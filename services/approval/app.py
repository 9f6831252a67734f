"""The approval service's HTTP API: workflows, gates, submissions, decisions
(Flask). Routes are thin: decode, check access over ingest's API, call a handler."""
from __future__ import annotations

import hmac
import logging
import os

from flask import Flask, Response, g, jsonify, render_template, request
from prometheus_client import Counter
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common import accounts
from services.common.logs import configure_logging
from services.common.mongo import connect, ensure_indexes, ping
from services.common.outbox import outbox_indexes
from services.common.settings import load_settings
from services.common.storage import ObjectStore
from services.common.web import (SERVICE_KEY_HEADER, SERVICE_READER, ApiError, install_common, json_body,
                                 link_decision_key, public, service_key)

from . import certificates, chain, handlers, store
from .gates import GateError
from .ingest_client import IngestClient
from .openapi import openapi_document
from .signing_key import signing_key
from .templates import load_templates

PREFIX = "/api/v1/approval"
MAX_PDF_BYTES = 20 * 1024 * 1024
log = logging.getLogger("framegate.approval")
CERTIFICATES = Counter("framegate_approval_certificates_total",
                       "Certificates made when a gate closed, by outcome (failed ones are made on request)",
                       ["outcome"])
MANAGERS = ("owner", None)  # None: admin, or an ingest without project roles


def create_app(settings=None) -> Flask:
    settings = settings or load_settings()
    configure_logging("approval")
    app = Flask(__name__, template_folder="pages")
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    db = connect(settings)
    ingest = IngestClient(os.environ.get("FRAMEGATE_INGEST_URL") or settings.public_url)
    objects = ObjectStore(settings)
    certifier = certificates.Certifier(db, objects, lambda: signing_key(db, settings.public_url), settings.public_url)

    def issue_certificate(closure: dict) -> None:
        # The gate is closed whatever happens here; a failed certificate is
        # made again when someone asks for it.
        try:
            certificates.issue(certifier, closure)
            CERTIFICATES.labels("issued").inc()
        except Exception:
            CERTIFICATES.labels("failed").inc()
            log.exception("certificate not issued yet", extra={"gate_id": closure["_id"]})

    ctx = handlers.Context(db, load_templates, on_close=issue_certificate)

    @app.before_request
    def prepare_once():
        if not app.config.get("prepared"):
            ensure_indexes(db, accounts.INDEXES + store.INDEXES + outbox_indexes("approval"))
            objects.ensure_buckets()
            signing_key(db, settings.public_url)  # made at first start, never again
            app.config["prepared"] = True

    install_common(app, "approval", lambda: db, {"mongo": lambda: ping(db), "s3": objects.ping},
                   reader_key=service_key(settings.secret_key))  # review and ingest ask what is locked

    @app.errorhandler(GateError)
    def gate_error(err: GateError):
        return jsonify({"error": err.code, "message": err.message, **err.extra}), err.status

    def project_for_caller(project_id: str, manage: bool = False) -> dict:
        """The project as ingest shows it to the caller; 404 for projects they cannot see."""
        project = ingest.project(g.session_token, project_id)
        if project is None:
            raise ApiError(404, "project_not_found", f"No project {project_id} that you can see.")
        if manage and not g.user.is_admin and project.get("role") not in MANAGERS:
            raise ApiError(403, "owners_only", "Only the project's owners manage its workflow and gates.")
        return project

    def text_field(body: dict, name: str, required: bool = True) -> str:
        value = body.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise ApiError(400, f"invalid_{name}", f"'{name}' must be a non-empty string.")
        return value.strip()

    @app.get(f"{PREFIX}/openapi.json")
    @public
    def openapi():
        return jsonify(openapi_document())

    @app.get(f"{PREFIX}/templates")
    def templates():
        return jsonify({"templates": [
            {"name": t.name, "title": t.title, "stages": len(t.stages)} for t in load_templates().values()]})

    @app.get(f"{PREFIX}/templates/<name>")
    def template(name):
        return jsonify(handlers.template(ctx, name).to_dict())

    @app.get(f"{PREFIX}/projects/<project_id>/workflow")
    def workflow(project_id):
        project_for_caller(project_id)
        return jsonify(handlers.workflow_view(ctx, project_id))

    @app.put(f"{PREFIX}/projects/<project_id>/workflow")
    def set_workflow(project_id):
        body = json_body()
        project_for_caller(project_id, manage=True)
        return jsonify(handlers.set_workflow(ctx, project_id, text_field(body, "template")))

    @app.put(f"{PREFIX}/projects/<project_id>/stages/<stage>/gate")
    def set_gate(project_id, stage):
        body = json_body()
        project_for_caller(project_id, manage=True)
        return jsonify(handlers.set_gate(ctx, project_id, stage, body, g.user.email))

    @app.post(f"{PREFIX}/projects/<project_id>/submit")
    def submit(project_id):
        version_id = text_field(json_body(), "version_id")
        project = project_for_caller(project_id, manage=True)
        version = ingest.version(g.session_token, version_id)
        if version is None:
            raise ApiError(404, "version_not_found", f"No version {version_id} that you can see.")
        return jsonify(handlers.submit(ctx, project_id, version, g.user.email, project.get("name", "")))

    @app.get(f"{PREFIX}/projects/<project_id>/stage")
    def stage(project_id):
        if g.user is not SERVICE_READER:  # review asks, to show a gate's stage and scope on its links
            project_for_caller(project_id)
        return jsonify(handlers.stage_view(ctx, project_id, request.args.get("stage") or None))

    @app.get(f"{PREFIX}/projects/<project_id>/locks")
    def locks(project_id):
        # Review and ingest ask this (with the service key) before every change
        # to a version's record; members may ask too.
        if g.user is not SERVICE_READER:
            project_for_caller(project_id)
        version_id = request.args.get("version_id") or None
        return jsonify(handlers.locks(ctx, project_id, version_id))

    @app.get(f"{PREFIX}/projects/<project_id>/decisions")
    def project_decisions(project_id):
        """The project's whole decision chain, as stored (each with its hash and the one before),
        and what is wrong with it if anything: what an archive's verifier page checks again."""
        project_for_caller(project_id)
        records = store.project_chain(db, project_id)
        return jsonify({"project_id": project_id, "hashed_fields": list(chain.HASHED),
                        "decisions": [{k: v for k, v in r.items() if k != "_id"} | {"id": r["_id"]}
                                      for r in records],
                        "problems": chain.chain_problems(records)})

    @app.post(f"{PREFIX}/projects/<project_id>/archive")
    def archive(project_id):
        project_for_caller(project_id, manage=True)
        return jsonify({"project_id": project_id, "archived": handlers.archive(ctx, project_id, g.user.email)})

    @app.post(f"{PREFIX}/projects/<project_id>/advance")
    def advance(project_id):
        project_for_caller(project_id, manage=True)
        return jsonify(handlers.advance(ctx, project_id))

    @app.post(f"{PREFIX}/gates/<gate_id>/decisions")
    def decide(gate_id):
        body = json_body()
        decision = text_field(body, "decision")
        reason = text_field(body, "reason", required=False)
        version_id = body.get("version_id")
        if version_id is not None and not isinstance(version_id, str):
            raise ApiError(400, "invalid_version_id", "'version_id' must be a string.")
        round_doc = store.latest_round(db, gate_id)
        if round_doc is None:
            raise ApiError(404, "gate_not_found", f"No gate {gate_id} with a version up for it.")
        project = project_for_caller(round_doc["project_id"])
        role = project.get("role")
        person = handlers.Person(
            email=g.user.email, name=g.user.name, ip=request.remote_addr or "",
            user_agent=request.headers.get("User-Agent", ""), roles=frozenset({role} if role else ()))
        saved, created = handlers.decide(ctx, gate_id, person, decision, reason, version_id)
        return jsonify({"decision": decision_view(saved), "created": created,
                        "stage": handlers.stage_view(ctx, round_doc["project_id"], round_doc["stage"])}), \
            201 if created else 200

    @app.post(f"{PREFIX}/link-decisions")
    @public  # no user: review's link-decision key, checked here
    def link_decision():
        """A link reviewer's decision, sent by review, which checked the link (live, allows
        approving) and the reviewer's session; the e-mail they gave must be an approver."""
        given = request.headers.get(SERVICE_KEY_HEADER, "")
        if not given or not hmac.compare_digest(given, link_decision_key(settings.secret_key)):
            raise ApiError(401, "unauthorized", "Only the review service records decisions made through links.")
        body = json_body()
        fields = {name: text_field(body, name) for name in ("project_id", "version_id", "link_id", "email", "name")}
        person = handlers.Person(
            email=fields["email"], name=fields["name"], ip=text_field(body, "ip", required=False),
            user_agent=text_field(body, "user_agent", required=False), link_id=fields["link_id"])
        saved, created, stage = handlers.decide_on_version(
            ctx, fields["project_id"], fields["version_id"], person, text_field(body, "decision"),
            text_field(body, "reason", required=False))
        return jsonify({"decision": decision_view(saved), "created": created, "stage": stage}), \
            201 if created else 200

    @app.get(f"{PREFIX}/gates/<gate_id>/certificate")
    def certificate(gate_id):
        closure = store.closure(db, gate_id)
        if closure is None:
            raise ApiError(409, "gate_open", f"Gate {gate_id} is not closed; it has no certificate yet.")
        project_for_caller(closure["project_id"])
        cert = certificates.issue(certifier, closure)
        pdf = objects.get_bytes(cert["bucket"], cert["key"])
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="certificate-{cert["_id"]}.pdf"',
            "X-Certificate-Id": cert["_id"]})

    @app.post(f"{PREFIX}/certificates/verify")
    @public
    def verify_upload():
        upload = request.files.get("file")
        pdf = upload.read(MAX_PDF_BYTES + 1) if upload else request.get_data(cache=False)
        if not pdf:
            raise ApiError(400, "pdf_required", "Send the certificate PDF as the 'file' field or the request body.")
        if len(pdf) > MAX_PDF_BYTES:
            raise ApiError(413, "pdf_too_large", f"A certificate is far smaller than {MAX_PDF_BYTES} bytes.")
        return jsonify(certificates.verify_pdf(certifier, pdf))

    @app.get("/verify/<certificate_id>")
    @public
    def verify_page(certificate_id):
        result = certificates.verify_id(certifier, certificate_id)
        # An unknown id is a 404; a known one that fails its checks is still shown, marked not valid.
        return render_template("verify.html", result=result), 404 if result.get("facts") is None else 200

    return app


def decision_view(d: dict) -> dict:
    keys = ("gate_id", "stage", "round", "decision", "reason", "version_id", "version_number", "sha256",
            "name", "email", "decided_at", "ip", "user_agent", "chain_n", "hash", "link_id")
    return {"id": d["_id"], **{k: d.get(k) for k in keys}}
