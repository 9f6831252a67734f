"""The approval service's HTTP API: workflows, gates, submissions, decisions
(Flask). Routes are thin: decode, check access over ingest's API, call a handler."""
from __future__ import annotations

import os

from flask import Flask, g, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common import accounts
from services.common.logs import configure_logging
from services.common.mongo import connect, ensure_indexes, ping
from services.common.outbox import outbox_indexes
from services.common.settings import load_settings
from services.common.web import ApiError, install_common, json_body

from . import handlers, store
from .gates import GateError
from .ingest_client import IngestClient
from .templates import load_templates

PREFIX = "/api/v1/approval"
MANAGERS = ("owner", None)  # None: admin, or an ingest without project roles


def create_app(settings=None) -> Flask:
    settings = settings or load_settings()
    configure_logging("approval")
    app = Flask(__name__)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    db = connect(settings)
    ingest = IngestClient(os.environ.get("FRAMEGATE_INGEST_URL") or settings.public_url)
    ctx = handlers.Context(db, load_templates)

    @app.before_request
    def prepare_once():
        if not app.config.get("prepared"):
            ensure_indexes(db, accounts.INDEXES + store.INDEXES + outbox_indexes("approval"))
            app.config["prepared"] = True

    install_common(app, "approval", lambda: db, {"mongo": lambda: ping(db)})

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
        project_for_caller(project_id, manage=True)
        version = ingest.version(g.session_token, version_id)
        if version is None:
            raise ApiError(404, "version_not_found", f"No version {version_id} that you can see.")
        return jsonify(handlers.submit(ctx, project_id, version, g.user.email))

    @app.get(f"{PREFIX}/projects/<project_id>/stage")
    def stage(project_id):
        project_for_caller(project_id)
        return jsonify(handlers.stage_view(ctx, project_id, request.args.get("stage") or None))

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

    return app


def decision_view(d: dict) -> dict:
    keys = ("gate_id", "stage", "round", "decision", "reason", "version_id", "version_number", "sha256",
            "name", "email", "decided_at", "ip", "user_agent", "chain_n", "hash")
    return {"id": d["_id"], **{k: d.get(k) for k in keys}}
