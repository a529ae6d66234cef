"""The one exception llmobs raises: a configuration error, at ``instrument()`` time."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(ValueError):
    """A setting has a value llmobs cannot use.

    ``setting`` names the argument or environment variable; the message says what was given and what is accepted.
    """

    def __init__(self, setting: str, given: object, accepted: str | Iterable[str]) -> None:
        if not isinstance(accepted, str):
            accepted = ", ".join(repr(a) for a in accepted)
        self.setting = setting
        self.given = given
        self.accepted = accepted
        super().__init__(f"llmobs: invalid value {given!r} for {setting}; accepted: {accepted}")
