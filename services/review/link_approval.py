"""A link reviewer's approval decision, through a link that allows approving:

    POST /api/v1/review/link-sessions/<link_id>/decision   {decision: approve|changes, reason?}

Review vouches for the reviewer (a live link that allows approving, and their
viewing session: the name and e-mail they gave, the version they watch) and
hands the decision to approval with its link-decision key; approval checks
the rest (an approver of the gate this version is up for, their turn, the
gate open) and records it, bound to the session's version.
"""
from __future__ import annotations

import requests
from flask import Blueprint, jsonify, request

from services.common.web import CSRF_HEADER, SERVICE_KEY_HEADER, ApiError, json_body, link_decision_key, public

from . import approval_locks, links, links_store
from .link_rules import LinkRefused, ensure_live
from .links_api import refused_response


def cookie_name(link_id: str) -> str:
    return f"framegate_link_{link_id}"  # link_reviewer_api's session cookie


class ApprovalDecisions:
    """Sends link reviewers' decisions to approval's API."""

    def __init__(self, base_url: str, key: str, timeout: float = 30.0):
        self.base = base_url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False

    def record(self, body: dict) -> tuple[dict, int]:
        try:
            response = self.http.post(f"{self.base}/api/v1/approval/link-decisions", json=body, timeout=self.timeout,
                                      headers={SERVICE_KEY_HEADER: self.key, CSRF_HEADER: "1"})
            return response.json(), response.status_code
        except (requests.RequestException, ValueError):
            raise ApiError(503, "approval_unavailable", "Your decision could not be recorded right now; "
                           "nothing was saved. Try again in a moment.", retry_after=2) from None


def link_approval_blueprint(settings, db, decisions: ApprovalDecisions | None = None) -> Blueprint:
    bp = Blueprint("link_approval", __name__)
    bp.register_error_handler(LinkRefused, refused_response)
    decisions = decisions or ApprovalDecisions(settings.public_url, link_decision_key(settings.secret_key))

    @bp.post("/api/v1/review/link-sessions/<link_id>/decision")
    @public  # the link session's cookie, checked below
    def decide(link_id):
        link = links_store.get_link(db, link_id)
        session = links_store.session_for(db, link_id, request.cookies.get(cookie_name(link_id), "")) if link else None
        if session is None:
            raise LinkRefused(401, "no_link_session", "Open the review link first (name and e-mail).")
        ensure_live(link, links.now())
        approval_locks.ensure_link_project_live(link)
        if not request.headers.get(CSRF_HEADER):
            raise LinkRefused(403, "csrf_required", f"Send the {CSRF_HEADER} header.")
        if not link.get("approve"):
            raise LinkRefused(403, "approval_not_allowed", "This review link is for watching and notes; "
                              "ask whoever sent it for a link that allows approving.")
        body = json_body()
        answer, status = decisions.record({
            "project_id": link["project_id"], "version_id": session["version_id"], "link_id": link_id,
            "name": session["name"], "email": session["email"], "ip": request.remote_addr or "",
            "user_agent": request.headers.get("User-Agent", ""),
            "decision": body.get("decision"), "reason": body.get("reason") or ""})
        return jsonify(answer), status

    return bp
