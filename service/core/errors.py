"""THE error model: one base class with an HTTP status, the domain errors beside it or in their
owners (each subclasses one of these), one table in ``service.api.errors`` that turns them into
answers (``{"status": N, "detail": "..."}``). Routes raise, and never catch to choose a status.

================================  ======  =========================================================
class                             status  raised for
================================  ======  =========================================================
``AtlasError``                    500*    base; ``status`` per class, or per instance (``status=``)
``BadRequest`` (ValueError)       400     a parameter or request that is not accepted
``ParamError`` (BadRequest)       400     one named parameter, with what it accepts
``NotFound`` (LookupError)        404     a well-formed reference to something that does not exist
``Unprocessable`` (ValueError)    422     a file or method whose content cannot be used
``TooManyRequests``               429     a bounded queue is full or a rate spent (+ ``Retry-After``)
``DatabaseUnavailable``           503     the database cannot be reached (+ ``Retry-After``)
================================  ======  =========================================================

The answer's ``detail`` is the exception's ``detail`` attribute when it has one, else its text;
its ``headers`` attribute (a dict), when it has one, goes into the answer.
"""

from __future__ import annotations


class AtlasError(Exception):
    """An error the service answers with ``status`` (class default, or ``status=`` per instance)."""

    status: int = 500

    def __init__(self, *args, status: int | None = None):
        super().__init__(*args)
        if status is not None:
            self.status = status


class BadRequest(AtlasError, ValueError):
    """A parameter or request that is not accepted (HTTP 400)."""

    status = 400


class ParamError(BadRequest):
    """A query or path value (or CLI option) that is not accepted (HTTP 400; the CLI exits 2)."""

    def __init__(self, param: str, message: str, accepted: str | None = None):
        self.param = param
        self.accepted = accepted
        detail = f"{param}: {message}"
        if accepted:
            detail += f"; accepted: {accepted}"
        super().__init__(detail)
        self.detail = detail


class NotFound(AtlasError, LookupError):
    """A well-formed reference to something that does not exist (HTTP 404)."""

    status = 404


class Unprocessable(AtlasError, ValueError):
    """Input whose content cannot be used (HTTP 422)."""

    status = 422


class TooManyRequests(AtlasError):
    """A bounded queue is full or a client's rate is spent (HTTP 429 with ``Retry-After``)."""

    status = 429

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class DatabaseUnavailable(AtlasError, RuntimeError):
    """The database cannot be reached (HTTP 503)."""

    status = 503
