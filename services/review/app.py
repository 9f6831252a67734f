"""The review service: sign-in, project/asset/version lists, the player, and
the CDN's origin route (Flask)."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, jsonify, send_file
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common import accounts
from services.common.logs import configure_logging
from services.common.mongo import connect, ensure_indexes, ping
from services.common.settings import load_settings
from services.common.storage import ObjectStore
from services.common.web import ApiError, install_common, link_decision_key, public, service_key

from . import approval_locks, links_store, notes_store
from .ingest_client import IngestClient
from .link_approval import ApprovalDecisions, link_approval_blueprint
from .link_reviewer_api import link_reviewer_blueprint
from .links_api import links_blueprint
from .notes_api import notes_blueprint
from .openapi import review_openapi_document
from .origin import origin_blueprint
from .pages import pages_blueprint
from .stills import ExactStills, stills_for
from .stills_api import stills_blueprint

REPO = Path(__file__).resolve().parents[2]
HLSJS_DEFAULT = REPO / ".cache" / "npm" / "node_modules" / "hls.js" / "dist" / "hls.min.js"


def create_app(settings=None) -> Flask:
    settings = settings or load_settings()
    configure_logging("review")
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    db = connect(settings)
    store = ObjectStore(settings)
    ingest = IngestClient(os.environ.get("FRAMEGATE_INGEST_URL") or settings.public_url,
                          reader_key=service_key(settings.secret_key))
    approval_url = os.environ.get("FRAMEGATE_APPROVAL_URL") or settings.public_url
    approval_locks.install(app, approval_locks.ApprovalLocks(approval_url, service_key(settings.secret_key)))
    hlsjs = Path(os.environ.get("FRAMEGATE_HLSJS_PATH") or HLSJS_DEFAULT)

    @app.before_request
    def prepare_once():
        if not app.config.get("prepared"):
            ensure_indexes(db, accounts.INDEXES)
            ensure_indexes(db, notes_store.INDEXES)
            ensure_indexes(db, links_store.INDEXES)
            app.config["prepared"] = True

    install_common(app, "review", lambda: db, {"mongo": lambda: ping(db), "s3": store.ping},
                   sign_in_endpoint="pages.sign_in")

    @app.get("/static/vendor/hls.min.js")
    @public
    def hls_js():
        if not hlsjs.exists():
            raise ApiError(500, "hlsjs_missing", f"hls.js is not installed at {hlsjs}; run deploy/local/install.sh npm")
        return send_file(hlsjs, mimetype="text/javascript", max_age=86400)

    @app.get("/api/v1/review/openapi.json")
    def openapi():
        return jsonify(review_openapi_document())

    app.register_blueprint(origin_blueprint(settings, store))
    app.register_blueprint(pages_blueprint(settings, db, ingest))
    app.register_blueprint(notes_blueprint(db, ingest, stills_for(store)))
    app.register_blueprint(links_blueprint(settings, db, ingest))
    exact = ExactStills(store, settings.bucket("masters"), settings.bucket("renditions"))
    app.register_blueprint(stills_blueprint(settings, ingest, exact))
    app.register_blueprint(link_reviewer_blueprint(settings, db, ingest, exact))
    app.register_blueprint(link_approval_blueprint(settings, db, ApprovalDecisions(
        approval_url, link_decision_key(settings.secret_key))))
    return app
