"""The error tree of hyperville.

Every error that may reach a client is a :class:`HypervilleError`. Each carries its
NGSI-LD problem type, its HTTP status and a message that is safe to show. They are turned
into RFC 7807 ProblemDetails bodies in exactly one place (``hyperville.api.problems``).

    HypervilleError
    ├── BadRequestData          400  the payload or a parameter value is wrong
    ├── InvalidRequest          400  the request itself is malformed (bad JSON, bad headers)
    ├── Unauthorized            401  missing or wrong credentials (device tokens)
    ├── UnsupportedMediaType    415
    ├── NotAcceptable           406
    ├── PayloadTooLarge         413
    ├── ResourceNotFound        404
    ├── NonexistentTenant       404
    ├── AlreadyExists           409
    ├── OperationNotSupported   422
    ├── LdContextNotAvailable   503
    ├── TooManyRequests         503 (ingestion back-pressure; has retry_after_s)
    └── InternalError           500 (never raised on purpose)
"""

from __future__ import annotations

NGSI_LD_ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


class HypervilleError(Exception):
    """Base of every error that may reach a client."""

    problem_type: str = NGSI_LD_ERRORS + "InternalError"
    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str = "", *, instance: str | None = None, **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.instance = instance
        self.extra = extra

    def to_problem(self) -> dict[str, object]:
        """The RFC 7807 ProblemDetails body of this error."""
        body: dict[str, object] = {
            "type": self.problem_type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.instance:
            body["instance"] = self.instance
        body.update(self.extra)
        return body


class BadRequestData(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "BadRequestData"
    status = 400
    title = "Bad request data"


class InvalidRequest(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "InvalidRequest"
    status = 400
    title = "Invalid request"


class Unauthorized(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "Unauthorized"
    status = 401
    title = "Unauthorized"


class UnsupportedMediaType(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "InvalidRequest"
    status = 415
    title = "Unsupported media type"


class NotAcceptable(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "InvalidRequest"
    status = 406
    title = "Not acceptable"


class PayloadTooLarge(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "BadRequestData"
    status = 413
    title = "Payload too large"


class ResourceNotFound(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "ResourceNotFound"
    status = 404
    title = "Resource not found"


class NonexistentTenant(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "NonexistentTenant"
    status = 404
    title = "Nonexistent tenant"


class AlreadyExists(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "AlreadyExists"
    status = 409
    title = "Already exists"


class OperationNotSupported(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "OperationNotSupported"
    status = 422
    title = "Operation not supported"


class LdContextNotAvailable(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "LdContextNotAvailable"
    status = 503
    title = "JSON-LD @context not available"


class TooManyRequests(HypervilleError):
    problem_type = NGSI_LD_ERRORS + "TooManyRequests"
    status = 503
    title = "Service busy, retry later"

    def __init__(self, detail: str = "", *, retry_after_s: int = 1, **extra: object) -> None:
        super().__init__(detail, **extra)
        self.retry_after_s = retry_after_s


class InternalError(HypervilleError):
    pass
