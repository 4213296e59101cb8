"""What every request must be before the app reads it: a body no larger than the limit
(413, whether or not it says its length), and a URL without control characters (400: they
cannot be ids, and PostgreSQL refuses NUL in text)."""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class Door:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.limit = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if _has_control(unquote_to_bytes(raw_path)) or _has_control(
            unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
        ):
            await _answer(send, 400, "control characters in the URL")
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _answer(send, 413, TooLarge(self.limit).detail)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:  # a body sent in chunks, without its length
                raise TooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


def _has_control(raw: bytes) -> bool:
    return any(b < 0x20 or b == 0x7F for b in raw)


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
