"""OpenAI's error shape for the Conversations API under ``/v1``.

Every answer of ``/v1`` that is not a success is ``{"error": {"message", "type", "param",
"code"}}`` (``param`` and ``code`` may be null), as the official clients parse it, whoever
refuses the request: the route, the request guard (400/403/415), the body limit (413/408)
or authentication (401). ``type`` is ``invalid_request_error`` for what the client sent
(4xx) and ``server_error`` otherwise; a missing or wrong key is 401 with ``code``
``invalid_api_key``. Bad input that sessionhub answers 422 under ``/api`` is a 400 here,
as OpenAI answers it, except JSON that is not strict JSON (NaN, lone surrogates), which
stays 422 on every route.
"""

from __future__ import annotations

from typing import Any

from ..errors import SessionhubError

V1_PREFIX = "/v1/"
PARSE_ERROR = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)


def is_v1(path: str) -> bool:
    return path.startswith(V1_PREFIX) or path == "/v1"


class InvalidParam(SessionhubError):
    """A ``/v1`` request value refused with OpenAI's wording: 400 ``invalid_request_error`` and ``param``."""

    status_code = 400
    exit_code = 2
    code = "invalid_input"

    def __init__(self, message: str, param: str | None = None, error_code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.error_code = error_code


def openai_error_body(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    if status == 401 and code is None:
        code = "invalid_api_key"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


__all__ = ["PARSE_ERROR", "V1_PREFIX", "InvalidParam", "is_v1", "openai_error_body"]
