"""Errors a user can cause. The CLI prints their message and exits 2; anything else is a bug."""


class AgileclfError(Exception):
    """Base of every error caused by input, configuration or files the user gave."""


class DataError(AgileclfError):
    """A data file is unreadable or invalid; the message names file, line and field."""


class ConfigError(AgileclfError):
    """A method, parameter or option is unknown or out of range."""


class BackboneError(AgileclfError):
    """A backbone path is missing, of the wrong kind, or does not match an artifact."""


class ArtifactError(AgileclfError):
    """A saved classifier directory is missing files, tampered with, or of another format version."""


class DataWarning(UserWarning):
    """Something in a data file was fixed up on reading (e.g. conflicting duplicates); the data goes on."""
