"""Safe by default: an optional access token, and no cross-site writes (Origin must match Host)."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.responses import JSONResponse, RedirectResponse

COOKIE = "agileclf_token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class AccessMiddleware:
    """With a token set, every request needs it: `Authorization: Bearer`, the cookie, or `?token=` once (which
    sets the cookie). Writes whose Origin is another site are refused, token or not: a page on the web must
    not drive a local app through the person's browser."""

    def __init__(self, app, token: str | None):
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] in UNSAFE and not _same_origin(headers):
            response = JSONResponse(
                {"error": {"message": "cross-site request refused", "type": "forbidden"}}, status_code=403
            )
            await response(scope, receive, send)
            return
        if self.token and scope["path"] != "/healthz":
            query = parse_qs(scope.get("query_string", b"").decode())
            given_query = (query.get("token") or [""])[0]
            if given_query and secrets.compare_digest(given_query, self.token):
                response = RedirectResponse(scope["path"], status_code=303)
                response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
                await response(scope, receive, send)
                return
            if not self._allowed(headers):
                message = "this app needs its access token: open the link the app printed (…?token=…)"
                body = {"error": {"message": message, "type": "unauthorized"}}
                await JSONResponse(body, status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _allowed(self, headers: dict[str, str]) -> bool:
        bearer = headers.get("authorization", "")
        if bearer.startswith("Bearer ") and secrets.compare_digest(bearer[7:], self.token):
            return True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and secrets.compare_digest(value, self.token):
                return True
        return False


def _same_origin(headers: dict[str, str]) -> bool:
    """No Origin (curl, scripts) is fine; a browser's Origin must be this very host."""
    origin = headers.get("origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == headers.get("host", "")
