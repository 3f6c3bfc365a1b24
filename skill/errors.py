"""Errors that cross from handlers to the endpoint."""


class EventNotStored(Exception):
    """A skill event could not be stored; the endpoint answers 503 so Alexa redelivers it."""
