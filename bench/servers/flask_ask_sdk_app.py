"""(b) The same kind of skill the usual way: ask-sdk handlers behind ``flask-ask-sdk`` and its verifier.

It runs only inside the benchmark's throw-away environment (``flask-ask-sdk`` is never a project
dependency). Its signature and timestamp verifiers stay on; two things are redirected so that
nothing leaves the machine: the certificate "download" returns the benchmark's chain from disk,
and the chain is validated against the benchmark's root instead of the system store. Like most
skills built this way it keeps no per-user state.
"""

from __future__ import annotations

import functools
import io
from typing import Any

import ask_sdk_webservice_support.verifier as sdk_verifier
import pki_files
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import get_slot_value_v2, is_intent_name, is_request_type
from ask_sdk_model.ui import SimpleCard
from asn1crypto import pem
from certvalidator import CertificateValidator, ValidationContext
from flask import Flask
from flask_ask_sdk.skill_adapter import SkillAdapter

_pki = pki_files.load()


def _local_urlopen(url: str, *args: Any, **kwargs: Any) -> io.BytesIO:
    return io.BytesIO(_pki.fetch(url))


_, _, _root_der = pem.unarmor(_pki.root_pem)
sdk_verifier.urlopen = _local_urlopen
sdk_verifier.CertificateValidator = functools.partial(
    CertificateValidator, validation_context=ValidationContext(trust_roots=[_root_der])
)

sb = SkillBuilder()
sb.skill_id = pki_files.SKILL_ID


@sb.request_handler(can_handle_func=is_request_type("LaunchRequest"))
def launch(handler_input: Any) -> Any:
    text = "Welcome back. Ask me what causes cramps, or say start my routine."
    return handler_input.response_builder.speak(text).ask("What would you like to know?").response


@sb.request_handler(can_handle_func=is_intent_name("CausesIntent"))
def causes(handler_input: Any) -> Any:
    cause = get_slot_value_v2(handler_input, "cause")
    spoken = getattr(cause, "value", None) or "many things"
    text = f"Cramps can come from {spoken}. Want to hear more?"
    return (
        handler_input.response_builder.speak(text)
        .ask("Want to hear more?")
        .set_card(SimpleCard("Causes", text))
        .response
    )


@sb.request_handler(can_handle_func=lambda handler_input: True)
def fallback(handler_input: Any) -> Any:
    return handler_input.response_builder.speak("Sorry, I can't help with that.").response


app = Flask(__name__)
SkillAdapter(skill=sb.create(), skill_id=pki_files.SKILL_ID, app=app).register(app=app, route="/alexa")
