"""The team's review-link API (signed-in owners and admins):

    POST /api/v1/review/links                              make a link (its URL is shown once)
    GET  /api/v1/review/projects/<project_id>/links        a project's links
    POST /api/v1/review/links/<link_id>/revoke             revoke now
    GET  /api/v1/review/links/<link_id>/access             who watched how much (?format=json|csv|pdf)
    GET  /links/<link_id>/access                           the same as a page
"""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, render_template, request

from services.common.web import json_body, page

from . import access_log, links, links_store
from .ingest_client import IngestClient
from .link_rules import LinkRefused
from .pages import harden


def refused_response(err: LinkRefused):
    """A link rule's refusal as JSON (with Retry-After when the client should wait)."""
    response = jsonify({"error": err.code, "message": err.message})
    retry_after = getattr(err, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response, err.status


def links_blueprint(settings, db, ingest: IngestClient) -> Blueprint:
    bp = Blueprint("links_api", __name__, template_folder="templates")
    bp.register_error_handler(LinkRefused, refused_response)
    harden(bp, settings)

    def access_rows(link_id: str) -> list[dict]:
        version_frames = access_log.frames_of_versions(ingest, g.session_token, db, link_id)
        return access_log.rows(links_store.sessions_of(db, link_id), version_frames)

    @bp.post("/api/v1/review/links")
    def create():
        body = json_body()
        return jsonify(links.create_link(db, ingest, g.user, g.session_token, body, settings)), 201

    @bp.get("/api/v1/review/projects/<project_id>/links")
    def list_links(project_id):
        links.require_owner(ingest, g.user, g.session_token, project_id)
        return jsonify({"links": [links.link_view(l) for l in links_store.links_of_project(db, project_id)]})

    @bp.post("/api/v1/review/links/<link_id>/revoke")
    def revoke(link_id):
        return jsonify(links.revoke_link(db, ingest, g.user, g.session_token, link_id))

    @bp.get("/api/v1/review/links/<link_id>/access")
    def access(link_id):
        link = links.managed_link(db, ingest, g.user, g.session_token, link_id)
        fmt = request.args.get("format", "json")
        if fmt not in ("json", "csv", "pdf"):
            raise LinkRefused(400, "bad_format", "'format' is one of json, csv, pdf.")
        rows = access_rows(link_id)
        if fmt == "json":
            return jsonify({"link": links.link_view(link), "sessions": rows})
        body, mimetype = (access_log.to_csv(rows), "text/csv") if fmt == "csv" else (
            access_log.to_pdf(links.link_view(link), rows), "application/pdf")
        return Response(body, mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="access-{link_id}.{fmt}"'})

    @bp.get("/links/<link_id>/access")
    @page
    def access_page(link_id):
        try:
            link = links.managed_link(db, ingest, g.user, g.session_token, link_id)
        except LinkRefused as err:
            return render_template("not_found.html"), err.status
        return render_template("link_access.html", link=links.link_view(link), sessions=access_rows(link_id),
                               ranges_text=access_log.ranges_text)

    return bp
