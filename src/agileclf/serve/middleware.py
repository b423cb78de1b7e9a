"""ASGI middleware: bearer-token check and a request-body size cap, applied before any route runs."""

from __future__ import annotations

import json
import secrets

OPEN_PATHS = frozenset({"/healthz", "/readyz"})


async def _send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BearerAuthMiddleware:
    """Every path but the health checks needs `Authorization: Bearer <api key>`."""

    def __init__(self, app, api_key: str):
        self.app = app
        self.expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if secrets.compare_digest(given, self.expected):  # constant time: no timing hint about the key
            await self.app(scope, receive, send)
            return
        message = "missing or wrong API key; send the header 'Authorization: Bearer <key>'"
        body = {"error": {"field": "Authorization", "message": message, "type": "unauthorized"}}
        await _send_json(send, 401, body, [(b"www-authenticate", b"Bearer")])


class BodyLimitMiddleware:
    """Reads a request body up to `max_bytes` before the app sees it; a larger one gets 413 and is not read."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        chunks, size, more = [], 0, True
        while more:  # also covers chunked bodies that declare no length
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would report it

        await self.app(scope, replay, send)

    async def _too_large(self, send) -> None:
        message = f"request body over {self.max_bytes} bytes; send fewer or shorter texts"
        await _send_json(send, 413, {"error": {"field": "body", "message": message, "type": "too_large"}})
