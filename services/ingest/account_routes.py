"""Sign-in, the first admin, one's own account, and user administration (admins only)."""
from __future__ import annotations

import hmac
import math
import re

from flask import Blueprint, g, jsonify, request

from services.common import accounts
from services.common.web import ApiError, json_body, public

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REFUSED_STATUS = {"too_many_attempts": 429, "busy": 503, "account_disabled": 403}


def refused(err: accounts.LoginRefused) -> ApiError:
    """The HTTP answer to a refused sign-in, with Retry-After when waiting helps."""
    extra = {"retry_after": math.ceil(err.retry_after)} if err.retry_after else {}
    return ApiError(REFUSED_STATUS.get(err.code, 401), err.code, err.message, **extra)


def account_blueprint(db, settings) -> Blueprint:
    bp = Blueprint("accounts", __name__)

    @bp.post("/api/v1/auth/login")
    @public
    def login():
        body = json_body()
        try:
            user = accounts.login(db, body.get("email"), body.get("password"), request.remote_addr or "", settings)
        except accounts.LoginRefused as err:
            raise refused(err) from None
        token = accounts.issue_token(db, user, body.get("token_name") or "login", accounts.lifetime(settings, "api"))
        return jsonify({"token": token, "user": user.to_dict()})

    @bp.post("/api/v1/auth/bootstrap")
    @public
    def bootstrap():
        key = request.headers.get("X-Setup-Key", "")
        if not settings.setup_key or not hmac.compare_digest(key.encode(), settings.setup_key.encode()):
            raise ApiError(401, "unauthorized", "The setup key is missing or wrong.")
        body = request.get_json(silent=True) or {}
        email = body.get("email") or "admin@framegate.local"
        given = body.get("password")
        if given is not None:
            try:
                accounts.check_new_password(given)
            except ValueError as err:
                raise ApiError(400, "weak_password", str(err)) from None
        try:
            done = accounts.bootstrap_first_admin(db, email, settings, given)
        except accounts.LoginRefused as err:
            raise refused(err) from None
        if done is None:
            raise ApiError(409, "already_bootstrapped", "The first admin exists; sign in with framegate login.")
        user, password, token, created = done
        answer = {"email": user.email, "token": token, "user": user.to_dict()}
        if given is None:
            answer["password"] = password  # generated here: shown once
        return jsonify(answer), 201 if created else 200

    @bp.post("/api/v1/auth/logout")
    def logout():
        accounts.revoke_token(db, g.session_token)
        return "", 204

    @bp.get("/api/v1/me")
    def me():
        return jsonify(g.user.to_dict())

    @bp.get("/api/v1/me/tokens")
    def my_tokens():
        return jsonify({"tokens": accounts.list_tokens(db, g.user, g.session_token)})

    @bp.delete("/api/v1/me/tokens/<token_id>")
    def revoke_my_token(token_id):
        if not accounts.revoke_token_by_id(db, g.user, token_id):
            raise ApiError(404, "unknown_token", f"You have no token with id {token_id!r}.")
        return "", 204

    @bp.post("/api/v1/me/password")
    def change_password():
        body = json_body()
        try:
            accounts.change_password(db, g.user, body.get("current"), body.get("new"), g.session_token, settings)
        except accounts.LoginRefused as err:
            status = {"conflict": 409, "busy": 503}.get(err.code, 403)
            raise ApiError(status, err.code, err.message) from None
        except ValueError as err:
            raise ApiError(400, "weak_password", str(err)) from None
        return "", 204

    def admin_only() -> None:
        if not g.user.is_admin:
            raise ApiError(403, "admins_only", "Only an admin can manage users.")

    @bp.get("/api/v1/users")
    def users():
        admin_only()
        return jsonify({"users": [u.to_dict() for u in accounts.list_users(db)]})

    @bp.post("/api/v1/users")
    def create_user():
        admin_only()
        body = json_body()
        email, name, role = body.get("email"), body.get("name"), body.get("role", "member")
        if not isinstance(email, str) or not EMAIL.match(email.strip()):
            raise ApiError(400, "bad_email", "Give the new user's e-mail address.")
        if role not in accounts.ROLES:
            raise ApiError(400, "bad_role", f"The role must be one of {', '.join(accounts.ROLES)}.")
        given = body.get("password")
        try:
            password = accounts.check_new_password(given) if given is not None else accounts.new_password()
        except ValueError as err:
            raise ApiError(400, "weak_password", str(err)) from None
        user = accounts.create_user(db, email, (name or email.split("@")[0]).strip(), role, password, settings)
        if user is None:
            raise ApiError(409, "user_exists", f"There is already a user {email.strip().lower()}.")
        answer = user.to_dict()
        if given is None:
            answer["password"] = password  # shown once, to pass on
        return jsonify(answer), 201

    def user_or_404(user_id: str) -> accounts.User:
        user = accounts.find_user(db, user_id)
        if user is None:
            raise ApiError(404, "unknown_user", f"There is no user with id {user_id!r}.")
        return user

    @bp.post("/api/v1/users/<user_id>/disable")
    def disable_user(user_id):
        admin_only()
        if user_id == g.user.id:
            raise ApiError(400, "cannot_disable_self", "You cannot disable your own account.")
        user_or_404(user_id)
        accounts.set_disabled(db, user_id, True)
        return jsonify(user_or_404(user_id).to_dict())

    @bp.post("/api/v1/users/<user_id>/enable")
    def enable_user(user_id):
        admin_only()
        user_or_404(user_id)
        accounts.set_disabled(db, user_id, False)
        return jsonify(user_or_404(user_id).to_dict())

    @bp.post("/api/v1/users/<user_id>/password")
    def reset_password(user_id):
        """A new generated password, shown once; every token of the user dies."""
        admin_only()
        user_or_404(user_id)
        password = accounts.reset_password(db, user_id, settings)
        return jsonify(dict(user_or_404(user_id).to_dict(), password=password))

    return bp
