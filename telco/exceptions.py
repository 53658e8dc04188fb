"""Domain errors: raised by services, turned into the TMF error body by the API handler."""


class DomainError(Exception):
    """A business rule refused the request. `field` names the offending input, if any."""

    status_code = 400
    code = "invalidRequest"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidTransition(DomainError):
    """A state change that the entity's state machine does not allow."""

    status_code = 409
    code = "invalidStateTransition"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class NotFound(DomainError):
    status_code = 404
    code = "notFound"


class Forbidden(DomainError):
    """The user's role may not do this (e.g. change one attribute): 403, naming the field."""

    status_code = 403
    code = "forbidden"
