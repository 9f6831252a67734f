"""The ingest HTTP API: projects, assets, versions and uploads (Flask)."""
from __future__ import annotations

import os

from flask import Flask, g, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common import accounts, cdn
from services.common.logs import configure_logging
from services.common.mongo import connect, ensure_indexes, ping
from services.common.settings import load_settings
from services.common.storage import ObjectStore
from services.common.web import ApiError, amqp_check, install_common, json_body, service_key

from . import access, completions, records, uploads
from .approval_client import ApprovalClient
from .account_routes import account_blueprint
from .member_routes import member_blueprint
from .naming import BadName, check_display_name
from .openapi import openapi_document
from .views import asset_view, project_view, version_view


def create_app(settings=None) -> Flask:
    settings = settings or load_settings()
    configure_logging("ingest")
    app = Flask(__name__, static_folder=None)
    # nginx (or the cluster's ingress) is in front: trust one hop of X-Forwarded-For.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    db = connect(settings)
    store = ObjectStore(settings)
    approval = ApprovalClient(os.environ.get("FRAMEGATE_APPROVAL_URL") or settings.public_url,
                              service_key(settings.secret_key))
    ctx = uploads.Ingest(db=db, store=store, settings=settings, ensure_not_archived=approval.ensure_not_archived)

    @app.before_request
    def prepare_once():
        # Indexes and buckets are created on the first request, not at import,
        # so the app object can be built while a dependency is still starting.
        if not app.config.get("prepared"):
            ensure_indexes(db, records.INDEXES + completions.INDEXES + accounts.INDEXES)
            store.ensure_buckets()
            app.config["prepared"] = True
            app.config["completion_runner"] = uploads.start_completion_runner(ctx)

    install_common(app, "ingest", lambda: db, {
        "mongo": lambda: ping(db),
        "s3": store.ping,
        "amqp": amqp_check(settings.amqp_url),
    }, reader_key=service_key(settings.secret_key))  # review reads versions for link reviewers

    app.register_blueprint(account_blueprint(db, settings))
    app.register_blueprint(member_blueprint(db))

    @app.get("/api/v1/openapi.json")
    def openapi():
        return jsonify(openapi_document())

    # Projects, assets, versions ---------------------------------------------
    # Members see the projects they belong to, admins all; anything of another
    # project answers 404, as if it did not exist (services/ingest/access.py).
    @app.get("/api/v1/projects")
    def projects():
        roles = records.memberships_of(db, g.user.id)
        found = records.list_projects(db, None if g.user.is_admin else list(roles))
        return jsonify({"projects": [dict(project_view(p), role=roles.get(p["_id"])) for p in found]})

    @app.post("/api/v1/projects")
    def create_project():
        try:
            name = check_display_name(json_body().get("name"), "project")
        except BadName as err:
            raise ApiError(400, "bad_name", str(err)) from None
        project, created = records.create_project(db, name, g.user.id, g.user.email, g.user.name)
        if not created:
            # Only those who may see the project learn its id.
            visible = g.user.is_admin or access.role_of(db, g.user, project["_id"]) is not None
            if not visible:
                raise ApiError(409, "project_exists",
                               f"A project named {project['name']!r} exists; ask its owner to add you.")
            raise ApiError(409, "project_exists", f"A project named {project['name']!r} exists.",
                           project=project_view(project))
        records.add_member(db, project["_id"], g.user.id, "owner", g.user.id)  # its creator owns it
        return jsonify(dict(project_view(project), role="owner")), 201

    def _project(project_id: str) -> dict:
        return access.require(db, g.user, project_id, "view")

    @app.get("/api/v1/projects/<project_id>/assets")
    def assets(project_id):
        _project(project_id)
        return jsonify({"assets": [asset_view(a) for a in records.list_assets(db, project_id)]})

    @app.get("/api/v1/projects/<project_id>/versions")
    def versions(project_id):
        _project(project_id)
        found = records.list_versions(db, project_id, request.args.get("asset_id"))
        return jsonify({"versions": versions_with_status(found)})

    @app.get("/api/v1/versions/<version_id>")
    def version(version_id):
        found = access.require_version(db, g.user, version_id)
        return jsonify(versions_with_status([found])[0])

    @app.get("/api/v1/versions/<version_id>/playback")
    def playback(version_id):
        """Fresh short-lived CDN URLs for one viewing session; the player asks again
        before they expire, and a caller who is no longer a member is refused."""
        found = access.require_version(db, g.user, version_id)
        return jsonify(cdn.playback_grant(settings, found["project_id"], found["_id"]))

    def versions_with_status(found: list[dict]) -> list[dict]:
        ids = [v["_id"] for v in found]
        states, progress = records.states_of(db, ids), records.progress_of(db, ids)
        return [with_playback(version_view(v, states[v["_id"]], progress.get(v["_id"]))) for v in found]

    def with_playback(version: dict) -> dict:
        """Where to watch it: the player page, and a signed HLS URL any client can play until it expires."""
        playable = version["status"] in ("playable", "ready") and version["facts"].get("kind") != "image"
        version["playback"] = {
            "player_url": f"{settings.public_url.rstrip('/')}/versions/{version['id']}",
            # For HLS clients outside the page (CLI, ffprobe, VLC): a longer lifetime
            # than the page's, which refreshes its own (/playback above).
            "hls_url": cdn.sign_playback_url(settings, version["project_id"], version["id"],
                                             ttl=settings.api_playback_ttl_seconds) if playable else None,
            # Through the CDN (a same-origin path when it is the platform's own nginx), for
            # thumbnails in lists (loaded at once, so the page's short lifetime is enough).
            "poster_url": cdn.sign_playback_link(settings, version["project_id"], version["id"], "poster.jpg",
                                                 ttl=settings.playback_ttl_seconds)
            if version["status"] == "ready" else None,
        }
        return version

    # Uploads ------------------------------------------------------------------
    @app.post("/api/v1/uploads")
    def start_uploads():
        body = json_body()
        items, accepted = uploads.start_batch(ctx, g.user, body.get("project_id"), body.get("files"))
        if not accepted:
            message = items[0]["message"] if len(items) == 1 else "No file was accepted; each entry of 'uploads' says why."
            raise ApiError(400, "files_refused", message, uploads=items)
        return jsonify({"uploads": items}), 201

    @app.get("/api/v1/uploads/<upload_id>")
    def upload_status(upload_id):
        return jsonify(uploads.describe_upload(ctx, uploads.load_upload(ctx, g.user, upload_id)))

    @app.post("/api/v1/uploads/<upload_id>/complete")
    def complete_upload(upload_id):
        # Always 202: hashing and probing a big master runs in the background;
        # the client polls the completion (Location).
        status = uploads.complete(ctx, g.user, upload_id, json_body().get("sha256"))
        return jsonify(completion_view(status)), 202, {"Location": f"/api/v1/uploads/{upload_id}/completion"}

    @app.get("/api/v1/uploads/<upload_id>/completion")
    def upload_completion(upload_id):
        return jsonify(completion_view(uploads.completion_status(ctx, g.user, upload_id)))

    def completion_view(status: dict) -> dict:
        if status["version"]:
            status["version"] = versions_with_status([status["version"]])[0]
        return status

    @app.delete("/api/v1/uploads/<upload_id>")
    def abort_upload(upload_id):
        uploads.abort(ctx, g.user, upload_id)
        return "", 204

    return app
