"""The dashboard's HTTP app (Flask): the board, a production's page, the capacity
view, their JSON, and the server-sent-event stream that keeps them live.

Routes are thin: who may see what comes from ingest (access.py), what there is
to see from the dashboard's own projections (store.py), the rest is pure
(production.py, capacity.py, charts.py).
"""
from __future__ import annotations

import os
import queue
import time
from datetime import datetime, timezone
from urllib.parse import quote

from flask import Flask, Response, g, jsonify, redirect, render_template, request, stream_with_context
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common.logs import configure_logging
from services.common.mongo import connect, ensure_indexes, ping
from services.common.settings import load_settings
from services.common.web import ApiError, csrf_token_for, install_common, page, public, safe_next

from . import capacity as capacity_rules
from . import charts, store
from .access import ProjectAccess, SessionEnded, Visible
from .live import Broadcaster
from .production import STATES, BadQuery, board_row, fold, select_rows

API = "/api/v1/dashboard"
KEEPALIVE_SECONDS = 15.0
RECHECK_SECONDS = 30.0  # an open stream re-checks the session and the projects it may see


def create_app(settings=None) -> Flask:
    settings = settings or load_settings()
    configure_logging("dashboard")
    app = Flask(__name__, template_folder="pages")
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    db = connect(settings)
    access = ProjectAccess(os.environ.get("FRAMEGATE_INGEST_URL") or settings.public_url)
    live = Broadcaster(db)

    @app.before_request
    def prepare_once():
        if not app.config.get("prepared"):
            ensure_indexes(db, store.INDEXES)
            live.start()
            app.config["prepared"] = True

    install_common(app, "dashboard", lambda: db, {"mongo": lambda: ping(db)}, sign_in_endpoint="sign_in")

    @app.get("/dashboard/signin")
    @public
    def sign_in():
        # The review app signs people in for the whole platform.
        return redirect("/signin?next=" + quote(safe_next(request.args.get("next"), "/dashboard"), safe="/?=&"))

    def visible() -> Visible:
        try:
            return access.visible(g.session_token, g.user.is_admin)
        except SessionEnded:
            raise ApiError(401, "unauthorized", "Your session has ended: sign in again.") from None

    def rows_for(seen: Visible) -> list[dict]:
        """Board rows of every production the caller sees; a project without events yet is 'in production'."""
        views = {v["project_id"]: v for v in store.views(db, None if seen.everything else list(seen.projects))}
        for project_id in seen.projects:
            views.setdefault(project_id, fold([{"project_id": project_id, "type": "", "occurred_at": ""}]))
        rows = []
        for view in views.values():
            row = board_row(view)
            row["name"] = row["name"] or seen.projects.get(row["project_id"], "") or row["project_id"]
            rows.append(row)
        return rows

    def selected_rows(seen: Visible) -> list[dict]:
        try:
            return select_rows(rows_for(seen), state=request.args.get("state", ""),
                               client=request.args.get("client", ""), producer=request.args.get("producer", ""),
                               sort=request.args.get("sort", ""))
        except BadQuery as err:
            raise ApiError(400, f"invalid_{err.field}", str(err)) from None

    def production_view(project_id: str) -> dict:
        seen = visible()
        if not seen.allows(project_id):
            raise ApiError(404, "project_not_found", f"No production {project_id} that you can see.")
        view = store.view_of(db, project_id) or fold([{"project_id": project_id, "type": "", "occurred_at": ""}])
        view["name"] = view.get("name") or seen.projects.get(project_id) or project_id
        return view

    def capacity_for(seen: Visible) -> dict:
        views = store.views(db, None if seen.everything else list(seen.projects))
        for view in views:
            view["name"] = view.get("name") or seen.projects.get(view["project_id"], "")
        return capacity_rules.capacity(views)

    # JSON ---------------------------------------------------------------------
    @app.get(f"{API}/productions")
    def productions():
        return jsonify({"productions": selected_rows(visible()), "states": list(STATES)})

    @app.get(f"{API}/productions/<project_id>")
    def production(project_id):
        return jsonify(production_view(project_id))

    @app.get(f"{API}/capacity")
    def capacity_json():
        return jsonify(capacity_for(visible()))

    @app.get(f"{API}/stream")
    def stream():
        """Server-sent events: `production` with the changed production's board row."""
        seen = visible()
        project_id = request.args.get("project_id") or None
        if project_id and not seen.allows(project_id):
            raise ApiError(404, "project_not_found", f"No production {project_id} that you can see.")
        token, is_admin = g.session_token, g.user.is_admin
        subscriber = live.subscribe(project_id)

        def events():
            allowed, checked = seen.ids(), time.monotonic()
            refused: set[str] = set()  # productions an answer newer than their change did not list

            def ask_again(max_age: float, asked_after: float | None = None) -> bool:
                """Refresh what this viewer may see; False once their session has ended."""
                nonlocal allowed
                try:
                    allowed = access.visible(token, is_admin, max_age=max_age, asked_after=asked_after).ids()
                except SessionEnded:
                    return False
                except Exception:  # ingest away for a moment: keep what we had
                    pass
                return True

            try:
                yield "retry: 2000\n: connected\n\n"
                while not subscriber.overflowed:
                    try:
                        changed, message, announced_at = subscriber.messages.get(timeout=KEEPALIVE_SECONDS)
                    except queue.Empty:  # say we are here, so proxies keep the connection
                        changed, message, announced_at = None, None, 0.0
                    if changed and allowed is not None and changed not in allowed:
                        # New to this viewer: made after the stream opened, or they were just added.
                        # The first time, only an answer asked after the announcement will do (an
                        # older one cannot know it); one already refused is asked about at most
                        # once a second, so others' busy productions cost ingest little.
                        if changed in refused:
                            still_signed_in = ask_again(1.0)
                        else:
                            still_signed_in = ask_again(RECHECK_SECONDS, asked_after=announced_at)
                        if not still_signed_in:
                            break
                        if allowed is not None and changed not in allowed:
                            refused.add(changed)
                    if message is None:
                        yield ": keep-alive\n\n"
                    elif allowed is None or changed in allowed:
                        yield f"event: production\ndata: {message}\n\n"
                    # Now and then anyway, after sending, so an ended session or a removed
                    # member stops hearing; streams sharing a token share one call.
                    if time.monotonic() - checked > RECHECK_SECONDS:
                        checked = time.monotonic()
                        if not ask_again(RECHECK_SECONDS / 2):
                            break
                yield "event: signed-out\ndata: {}\n\n" if not subscriber.overflowed else ""
            finally:
                live.unsubscribe(subscriber)

        response = Response(stream_with_context(events()), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
        return response

    # Pages ----------------------------------------------------------------------
    def page_context() -> dict:
        return {"current_user": g.user, "csrf_token": csrf_token_for(g.session_token), "states": STATES}

    @app.get("/dashboard")
    @page
    def board():
        seen = visible()
        rows = selected_rows(seen)
        every = rows_for(seen)
        return render_template(
            "board.html", rows=rows, filters={k: request.args.get(k, "") for k in ("state", "client", "producer", "sort")},
            clients=sorted({c for r in every for c in r["clients"]}), producers=sorted({r["producer"] for r in every
                                                                                        if r["producer"]}),
            counts={s: sum(1 for r in every if r["state"] == s) for s in STATES}, **page_context())

    @app.get("/dashboard/productions/<project_id>")
    @page
    def production_page(project_id):
        view = production_view(project_id)
        template = "_production.html" if request.args.get("fragment") else "production.html"
        return render_template(template, view=view, row=board_row(view), **page_context())

    @app.get("/dashboard/capacity")
    @page
    def capacity_page():
        data = capacity_for(visible())
        now = datetime.now(timezone.utc)
        figures = {"reviews": charts.reviews_chart(data["reviews_out"], now), "gates": charts.gates_chart(data["gates"]),
                   "load": charts.load_chart(data["revision_load"])}
        template = "_capacity.html" if request.args.get("fragment") else "capacity.html"
        return render_template(template, data=data, figures=figures, **page_context())

    return app
