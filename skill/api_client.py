"""An ask-sdk ApiClient with timeouts, connection pooling, and http allowed for loopback only.

The SDK's DefaultApiClient sends without a timeout and refuses every http URL, which rules out a
local stub of the Alexa APIs. This one keeps the https rule for every other host.
"""

from __future__ import annotations

import json
import logging

import requests
from ask_sdk_core.exceptions import ApiClientException
from ask_sdk_model.services import ApiClient, ApiClientRequest, ApiClientResponse

from scheduler.urls import require_https_or_loopback

log = logging.getLogger(__name__)

_METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH"}


class PooledApiClient(ApiClient):
    def __init__(self, timeout: tuple[float, float] = (2.0, 4.0)) -> None:
        self._session = requests.Session()
        self._timeout = timeout

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        method = (request.method or "").upper()
        if method not in _METHODS:
            raise ApiClientException(f"unsupported HTTP method {request.method!r}")
        try:
            url = require_https_or_loopback(request.url)
        except ValueError as exc:
            raise ApiClientException(str(exc)) from exc
        headers = dict(request.headers or [])
        data: str | None = None
        if request.body:
            content_type = headers.get("Content-type") or headers.get("Content-Type") or ""
            data = json.dumps(request.body) if "json" in content_type else str(request.body)
        try:
            response = self._session.request(method, url, headers=headers, data=data, timeout=self._timeout)
        except requests.RequestException as exc:
            raise ApiClientException(f"{method} {url} failed: {exc.__class__.__name__}") from exc
        return ApiClientResponse(
            headers=list(response.headers.items()), status_code=response.status_code, body=response.text
        )

    def close(self) -> None:
        self._session.close()
