"""(a) The ceiling: bare Flask that reads the body and returns a canned Alexa reply.

No parsing, no verification, no skill: what the same WSGI server and framework cost on their own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

app = Flask(__name__)

CANNED = {
    "version": "1.0",
    "sessionAttributes": {},
    "response": {
        "outputSpeech": {"type": "SSML", "ssml": "<speak>Hello from the ceiling.</speak>"},
        "reprompt": {"outputSpeech": {"type": "SSML", "ssml": "<speak>Anything else?</speak>"}},
        "shouldEndSession": False,
    },
}


@app.post("/alexa")
def alexa() -> Any:
    request.get_data()
    return jsonify(CANNED)
