"""The webhook and sms channels: one HTTP POST per attempt (httpx, no redirects followed), with
`Idempotency-Key` (the same on every attempt) and, when the route has a secret,
`X-Dtwin-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`. A webhook sends the JSON document
(render.document); sms is a webhook whose body is the route's template with its placeholders filled, for
an SMS gateway's HTTP API."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import orjson

from dtwin.notifications import render
from dtwin.notifications.channels import Delivery, TransientError, http_failure

SIGNATURE_HEADER = "X-Dtwin-Signature"
USER_AGENT = "dtwin-notifications/1"


def signature(secret: str, body: bytes) -> str:
    """The `X-Dtwin-Signature` value: `sha256=` and the hex HMAC-SHA256 of the body with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """Posts to the row's URL. One connection pool per channel, opened on first use (`aclose` ends it)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s),
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    def body(self, delivery: Delivery) -> tuple[bytes, str]:
        return orjson.dumps(render.document(delivery)), "application/json"

    async def send(self, delivery: Delivery) -> None:
        body, content_type = self.body(delivery)
        headers = {
            "Content-Type": content_type,
            "Idempotency-Key": delivery.key,
            "X-Dtwin-Notification": str(delivery.id),
        }
        if delivery.route.secret:
            headers[SIGNATURE_HEADER] = signature(delivery.route.secret, body)
        try:
            response = await self._http().post(delivery.target, content=body, headers=headers)
        except httpx.HTTPError as exc:  # connect, read or write timeout, connection refused or reset
            raise TransientError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        if not response.is_success:
            raise http_failure(response.status_code, response.reason_phrase)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


class SmsChannel(WebhookChannel):
    """A webhook whose body is the route's `body_template`, placeholders filled and escaped for its
    `content_type` (JSON string content, form encoding or plain text)."""

    def body(self, delivery: Delivery) -> tuple[bytes, str]:
        content_type = delivery.route.content_type or "application/json"
        text = render.fill(
            delivery.route.body_template or "{message}", render.placeholders(delivery), content_type
        )
        charset = "" if content_type == "application/x-www-form-urlencoded" else "; charset=utf-8"
        return text.encode(), content_type + charset
