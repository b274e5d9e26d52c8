"""The OpenAI-compatible HTTP frontend (stdlib ``http.server``)."""

from dynamo.frontend.server import Frontend

__all__ = ["Frontend"]
