"""The one error a calculation raises: what went wrong, and where in the expression."""

from __future__ import annotations

from hookline.errors import NodeError


class ExpressionError(NodeError, ValueError):
    """An expression that cannot be read, or a step of it that cannot be computed.

    `position` is the offset (from 0) in the expression text of the token at fault; the
    message starts with it, counted from 1 as editors count columns.
    """

    def __init__(self, message: str, position: int) -> None:
        self.position = position
        self.reason = message
        super().__init__(f"at {position + 1}: {message}")

    def as_result(self) -> dict[str, str | int]:
        """The result of the error job it makes: the message, and the offset of the token at fault."""
        return {"message": str(self), "position": self.position}
