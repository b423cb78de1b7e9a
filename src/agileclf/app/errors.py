"""Errors the app answers with a 4xx status; each is an AgileclfError (the person's input caused it)."""

from agileclf.errors import AgileclfError


class AppError(AgileclfError):
    status = 400


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class Invalid(AppError):
    status = 422


class TooLarge(AppError):
    status = 413
