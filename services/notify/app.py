"""Notify's HTTP API (Flask): subscriptions, deliveries, dead letters and
their retry. Routes are thin: decode, check who may, call the store or a task.

Who may: admins everything; a project's owners its project subscriptions; a
person their own (`person` scope) subscriptions and what was sent for them.
"""
from __future__ import annotations

import logging
import os

from urllib.parse import quote

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common import accounts
from services.common.logs import configure_logging
from services.common.mongo import connect, ensure_indexes, ping
from services.common.settings import load_settings
from services.common.web import ApiError, csrf_token_for, install_common, json_body, page, public

from . import dispatch, rules, store
from .config import load_config
from .ingest_client import IngestClient
from .targets import TargetRefused, check_email, check_url

PREFIX = "/api/v1/notify"
log = logging.getLogger("framegate.notify")


def subscription_view(sub: dict, secret: str | None = None) -> dict:
    view = {"id": sub["_id"], "scope": sub["scope"], "project_id": sub.get("project_id"),
            "user_id": sub.get("user_id"), "channel": sub["channel"], "target": sub["target"],
            "events": sub.get("events") or [], "created_by": sub.get("created_by"),
            "created_at": sub["created_at"].isoformat(), "disabled": bool(sub.get("disabled"))}
    if secret:
        view["secret"] = secret  # a webhook's signing secret, shown once: in the answer that made it
    return view


def delivery_view(d: dict) -> dict:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": d["_id"], "subscription_id": d.get("subscription_id"), "project_id": d.get("project_id"),
            "channel": d["channel"], "target": d["target"], "kind": d.get("kind"), "event_type": d.get("event_type"),
            "event_ids": [e.get("event_id") for e in d.get("events", [])], "status": d["status"],
            "attempts": d.get("attempts", 0), "last_error": d.get("last_error") or None,
            "created_at": iso(d.get("created_at")), "delivered_at": iso(d.get("delivered_at")),
            "dead_at": iso(d.get("dead_at")), "next_at": iso(d.get("next_at"))}


def create_app(settings=None, config=None) -> Flask:
    settings = settings or load_settings()
    config = config or load_config()
    configure_logging("notify")
    app = Flask(__name__, template_folder="pages", static_folder=None)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    db = connect(settings)
    ingest = IngestClient(os.environ.get("FRAMEGATE_INGEST_URL") or settings.public_url, settings.secret_key)

    @app.before_request
    def prepare_once():
        if not app.config.get("prepared"):
            ensure_indexes(db, accounts.INDEXES + store.INDEXES)
            app.config["prepared"] = True

    install_common(app, "notify", lambda: db, {"mongo": lambda: ping(db)}, sign_in_endpoint="sign_in")

    @app.get("/notify/signin")
    @public
    def sign_in():
        # Review's pages own sign-in; come back here afterwards.
        return redirect("/signin?next=" + quote(request.args.get("next") or "/notify/deliveries", safe="/?=&"))

    @app.errorhandler(TargetRefused)
    def target_refused(err: TargetRefused):
        return jsonify({"error": err.code, "message": err.message}), 400

    def owned_project_ids() -> set[str]:
        return {p["id"] for p in ingest.projects_of(g.session_token) if p.get("role") == "owner"}

    def require_manage(sub: dict) -> None:
        """404 for what the caller may not see at all, as elsewhere on the platform."""
        if g.user.is_admin:
            return
        if sub["scope"] == "person" and sub.get("user_id") == g.user.id:
            return
        if sub["scope"] == "project" and sub.get("project_id") in owned_project_ids():
            return
        raise ApiError(404, "subscription_not_found", f"No subscription {sub['_id']} that you manage.")

    def managed_query() -> dict:
        if g.user.is_admin:
            return {}
        return {"$or": [{"scope": "person", "user_id": g.user.id},
                        {"scope": "project", "project_id": {"$in": sorted(owned_project_ids())}}]}

    def find_subscription(subscription_id: str) -> dict:
        sub = store.subscription(db, subscription_id)
        if sub is None:
            raise ApiError(404, "subscription_not_found", f"No subscription {subscription_id} that you manage.")
        require_manage(sub)
        return sub

    @app.post(f"{PREFIX}/subscriptions")
    def add_subscription():
        body = json_body()
        channel, target = body.get("channel"), body.get("target")
        project_id = body.get("project_id") or None
        scope = body.get("scope") or ("project" if project_id else "installation")
        if channel not in rules.CHANNELS:
            raise ApiError(400, "invalid_channel", f"'channel' must be one of {', '.join(rules.CHANNELS)}.")
        if scope not in rules.SCOPES:
            raise ApiError(400, "invalid_scope", f"'scope' must be one of {', '.join(rules.SCOPES)}.")
        if project_id is not None and not isinstance(project_id, str):
            raise ApiError(400, "invalid_project_id", "'project_id' must be a string.")
        try:
            events = rules.parse_events(body.get("events"))
        except ValueError as err:
            raise ApiError(400, "invalid_events", str(err)) from None
        if scope == "person" and channel == "email" and not target:
            target = g.user.email  # a person's mail goes to their own address
        if channel == "email":
            target = check_email(target)
            if scope == "person" and target.lower() != g.user.email.lower():
                raise ApiError(400, "not_your_address", "A personal e-mail subscription goes to your own address.")
        else:
            target = check_url(target, config.allow)
        if scope == "installation" and not g.user.is_admin:
            raise ApiError(403, "admins_only", "Only admins subscribe the whole installation; "
                                               "subscribe a project you own, or yourself (scope 'person').")
        if scope == "installation" and project_id:
            raise ApiError(400, "invalid_scope", "An installation subscription has no project.")
        if project_id:
            project = ingest.project_for(g.session_token, project_id)
            if project is None:
                raise ApiError(404, "project_not_found", f"No project {project_id} that you can see.")
            if scope == "project" and not g.user.is_admin and project.get("role") != "owner":
                raise ApiError(403, "owners_only", "Only the project's owners manage its subscriptions.")
        elif scope == "project":
            raise ApiError(400, "project_required", "A project subscription needs 'project_id'.")
        secret = store.new_webhook_secret() if channel == "webhook" else None
        doc = {"scope": scope, "project_id": project_id, "user_id": g.user.id if scope == "person" else None,
               "channel": channel, "target": target, "events": events, "secret": secret,
               "created_by": g.user.email}
        sub, created = store.add_subscription(db, doc)
        if not created:
            return jsonify({"error": "subscription_exists", "id": sub["_id"],
                            "message": f"That target is already subscribed ({sub['_id']})."}), 409
        return jsonify(subscription_view(sub, secret)), 201

    @app.get(f"{PREFIX}/subscriptions")
    def list_subscriptions():
        query = managed_query()
        if request.args.get("project_id"):
            query = {"$and": [query, {"project_id": request.args["project_id"]}]} if query else {
                "project_id": request.args["project_id"]}
        return jsonify({"subscriptions": [subscription_view(s) for s in store.subscriptions(db, query)]})

    @app.get(f"{PREFIX}/subscriptions/<subscription_id>")
    def get_subscription(subscription_id):
        return jsonify(subscription_view(find_subscription(subscription_id)))

    @app.delete(f"{PREFIX}/subscriptions/<subscription_id>")
    def remove_subscription(subscription_id):
        find_subscription(subscription_id)
        store.remove_subscription(db, subscription_id)
        return jsonify({"removed": subscription_id})

    @app.post(f"{PREFIX}/subscriptions/<subscription_id>/test")
    def test_subscription(subscription_id):
        sub = find_subscription(subscription_id)
        found = dispatch.send_test(db, sub, g.user.email)
        return jsonify(delivery_view(found)), 202

    def visible_deliveries() -> list[dict]:
        query: dict = {}
        if not g.user.is_admin:
            mine = [s["_id"] for s in store.subscriptions(db, managed_query())] + [f"mention:{g.user.id}"]
            query["subscription_id"] = {"$in": mine}
        if request.args.get("failed") in ("1", "true", "yes"):
            query["status"] = "dead"
        if request.args.get("subscription_id"):
            query = {"$and": [query, {"subscription_id": request.args["subscription_id"]}]}
        return [delivery_view(d) for d in store.deliveries(db, query)]

    @app.get(f"{PREFIX}/deliveries")
    def list_deliveries():
        return jsonify({"deliveries": visible_deliveries()})

    @app.get("/notify/deliveries")
    @page
    def deliveries_page():
        """What was sent for the caller's subscriptions; dead letters with a retry button."""
        return render_template("deliveries.html", deliveries=visible_deliveries(), user=g.user,
                               failed=request.args.get("failed") in ("1", "true", "yes"),
                               notice=request.args.get("notice"), csrf_token=csrf_token_for(g.session_token or ""))

    @app.post("/notify/deliveries/<delivery_id>/retry")
    @page
    def retry_page(delivery_id):
        found = find_delivery(delivery_id)
        if found["status"] == "dead":
            dispatch.retry_dead(db, found)
            notice = f"Sent {delivery_id} again."
        else:
            notice = f"{delivery_id} is {found['status']}; nothing to retry."
        return redirect(url_for("deliveries_page", failed=1, notice=notice), code=303)

    def find_delivery(delivery_id: str) -> dict:
        found = store.delivery(db, delivery_id)
        missing = ApiError(404, "delivery_not_found", f"No delivery {delivery_id} that you can see.")
        if found is None:
            raise missing
        sub_id = found.get("subscription_id") or ""
        if not g.user.is_admin and sub_id != f"mention:{g.user.id}":
            sub = store.subscription(db, sub_id)
            if sub is None:
                raise missing
            require_manage(sub)
        return found

    @app.get(f"{PREFIX}/deliveries/<delivery_id>")
    def get_delivery(delivery_id):
        return jsonify(delivery_view(find_delivery(delivery_id)))

    @app.post(f"{PREFIX}/deliveries/<delivery_id>/retry")
    def retry_delivery(delivery_id):
        found = find_delivery(delivery_id)
        if found["status"] != "dead":
            raise ApiError(409, "not_dead_lettered",
                           f"Delivery {delivery_id} is {found['status']}; only a dead-lettered one is retried by hand.")
        attempt = dispatch.retry_dead(db, found)
        return jsonify(dict(delivery_view(store.delivery(db, delivery_id)), retry_attempt=attempt)), 202

    return app
