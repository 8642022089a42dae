"""Errors of the ERP use cases; the API turns each into one HTTP status."""

from __future__ import annotations

from collections.abc import Sequence


class ServiceError(Exception):
    """Base class of the errors below."""


class NotFoundError(ServiceError):
    """The resource in the URL does not exist (404)."""

    def __init__(self, resource: str, resource_id: int) -> None:
        super().__init__(f"{resource} {resource_id} not found")
        self.resource = resource
        self.resource_id = resource_id

    def __reduce__(self) -> tuple[type[NotFoundError], tuple[str, int]]:
        # Exceptions pickle their message only; a shared cache stores this one.
        return (type(self), (self.resource, self.resource_id))


class InvalidReferenceError(ServiceError):
    """A field of the request names a row that does not exist (422)."""

    def __init__(self, location: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.location = tuple(location)
        self.message = message


class ConflictError(ServiceError):
    """The request is valid but the current state forbids it (409)."""


class OutOfStockError(ConflictError):
    """An order or correction needs more units than are in stock (409)."""

    def __init__(self, artikel_id: int, requested: int, available: int) -> None:
        super().__init__(
            f"insufficient stock for Artikel {artikel_id}: "
            f"{requested} requested, {available} in stock"
        )
        self.artikel_id = artikel_id
        self.requested = requested
        self.available = available
