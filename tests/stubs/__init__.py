"""Local stand-ins for external services, for tests and offline development."""

from tests.stubs.alexa_api import AlexaApiStub, start_stub

__all__ = ["AlexaApiStub", "start_stub"]
