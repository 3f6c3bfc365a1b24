"""The skill manifest (``skill.json``) for one deployment, built from the endpoint URL.

The words come from ``listing.json`` (the store texts, per locale); the locales are those of the
packaged interaction models; everything that must agree with the code (event names, the
permissions, the notification's schema) comes from the code. The icons and policy pages are
served by this app (``pages.py``), so their URLs are derived from the endpoint's.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any, Final
from urllib.parse import urlsplit

from scheduler.channels.alexa import EVENT_NAME as NOTIFICATION_SCHEMA
from skill.alexa_context import NOTIFICATIONS_SCOPE, REMINDERS_SCOPE
from skill.publishing.icons import SIZES as ICON_SIZES

MODELS_PACKAGE = "interaction_models"
ENDPOINT_PATH = "/alexa"
PRIVACY_PATH = "/privacy"
TERMS_PATH = "/terms"
CERTIFICATE_TYPES: Final = ("Trusted", "Wildcard", "SelfSigned")
CATEGORY = "HEALTH_AND_FITNESS"

# The skill events the handlers in skill/handlers/events.py answer, and the manifest's name for
# each: Alexa sends only the events a manifest subscribes to.
SKILL_EVENTS: Final = {
    "AlexaSkillEvent.SkillEnabled": "SKILL_ENABLED",
    "AlexaSkillEvent.SkillDisabled": "SKILL_DISABLED",
    "AlexaSkillEvent.SkillPermissionAccepted": "SKILL_PERMISSION_ACCEPTED",
    "AlexaSkillEvent.SkillPermissionChanged": "SKILL_PERMISSION_CHANGED",
    "AlexaSkillEvent.ProactiveSubscriptionChanged": "SKILL_PROACTIVE_SUBSCRIPTION_CHANGED",
    # A device reminder the user deleted in the Alexa app (Messaging.MessageReceived, the placement
    # request, needs no subscription).
    "Reminders.ReminderDeleted": "REMINDER_DELETED",
}

# Answers to the store's privacy and compliance questions, true of this code: no purchases, no
# advertising, no personal information such as names or addresses (see pages/privacy.html).
COMPLIANCE: Final = {
    "allowsPurchases": False,
    "usesPersonalInfo": False,
    "isChildDirected": False,
    "isExportCompliant": True,
    "containsAds": False,
    "usesHealthInfo": False,
}


# The screens the APL documents (skill/apl/) lay out for, in dp: round hubs, every rectangular hub
# from the smallest landscape one to a portrait one, and TVs. Alexa sends APL only to these.
APL_VIEWPORTS: Final = (
    {"mode": "HUB", "shape": "ROUND", "minWidth": 100, "maxWidth": 599, "minHeight": 100, "maxHeight": 599},
    {
        "mode": "HUB",
        "shape": "RECTANGLE",
        "minWidth": 600,
        "maxWidth": 2560,
        "minHeight": 100,
        "maxHeight": 1920,
    },
    {
        "mode": "TV",
        "shape": "RECTANGLE",
        "minWidth": 960,
        "maxWidth": 960,
        "minHeight": 540,
        "maxHeight": 540,
    },
)


class ManifestError(ValueError):
    """An endpoint or listing the manifest cannot be built from; the message says what to fix."""


def model_locales() -> list[str]:
    """The locales that have a packaged interaction model, e.g. ``["en-AU", "en-CA", ...]``."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in files(MODELS_PACKAGE).iterdir()
        if entry.name.endswith(".json") and entry.is_file()
    )


def interaction_model(locale: str) -> bytes:
    """The packaged interaction model for one locale, byte for byte."""
    return files(MODELS_PACKAGE).joinpath(f"{locale}.json").read_bytes()


def listings() -> dict[str, dict[str, Any]]:
    """The store listing per locale: the shared texts with each locale's own changes applied."""
    data = _listing_data()
    return {locale: {**data["default"], **changes} for locale, changes in data["locales"].items()}


def testing_instructions() -> str:
    return str(_listing_data()["testingInstructions"])


def _listing_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(files("skill.publishing").joinpath("listing.json").read_text("utf-8"))
    return data


def site_base(endpoint: str) -> str:
    """The app's public base URL from its endpoint: ``https://host/alexa`` gives ``https://host``."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(f"the endpoint must be an https URL with a host name, got {endpoint!r}")
    if parts.port not in (None, 443):
        raise ManifestError(f"Alexa calls HTTPS endpoints on port 443 only, got port {parts.port}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ManifestError(f"the endpoint must have no query, fragment or credentials, got {endpoint!r}")
    if not parts.path.endswith(ENDPOINT_PATH):
        raise ManifestError(
            f"the endpoint must end in {ENDPOINT_PATH}, where the app answers, got {endpoint!r}"
        )
    return f"https://{parts.hostname}{parts.path.removesuffix(ENDPOINT_PATH)}"


def build_manifest(endpoint: str, certificate: str = "Trusted") -> dict[str, Any]:
    """The whole ``skill.json`` document for a skill served at ``endpoint``."""
    if certificate not in CERTIFICATE_TYPES:
        raise ManifestError(f"the certificate type must be one of {', '.join(CERTIFICATE_TYPES)}")
    base = site_base(endpoint)
    uri = f"{base}{ENDPOINT_PATH}"
    locales = model_locales()
    listing = listings()
    if set(listing) != set(locales):
        raise ManifestError(
            f"listing.json has locales {sorted(listing)} but the interaction models are {locales}"
        )
    small, large = (f"{base}/icons/{size}.png" for size in ICON_SIZES)
    https_endpoint = {"uri": uri, "sslCertificateType": certificate}
    return {
        "manifest": {
            "manifestVersion": "1.0",
            "publishingInformation": {
                "locales": {
                    locale: {**listing[locale], "smallIconUri": small, "largeIconUri": large}
                    for locale in locales
                },
                "isAvailableWorldwide": False,
                # Each locale's own country: en-GB is offered in GB, and so on.
                "distributionCountries": [locale.split("-")[1] for locale in locales],
                "testingInstructions": testing_instructions(),
                "category": CATEGORY,
            },
            "apis": {
                "custom": {
                    "endpoint": https_endpoint,
                    "interfaces": [
                        {"type": "CAN_FULFILL_INTENT_REQUEST"},
                        {
                            "type": "ALEXA_PRESENTATION_APL",
                            "supportedViewports": [dict(v) for v in APL_VIEWPORTS],
                        },
                    ],
                }
            },
            # Spoken device reminders first; notifications are their fallback.
            "permissions": [{"name": REMINDERS_SCOPE}, {"name": NOTIFICATIONS_SCOPE}],
            "events": {
                "endpoint": dict(https_endpoint),
                "subscriptions": [{"eventName": name} for name in SKILL_EVENTS.values()],
                "publications": [{"eventName": NOTIFICATION_SCHEMA}],
            },
            "privacyAndCompliance": {
                **COMPLIANCE,
                "locales": {
                    locale: {
                        "privacyPolicyUrl": f"{base}{PRIVACY_PATH}",
                        "termsOfUseUrl": f"{base}{TERMS_PATH}",
                    }
                    for locale in locales
                },
            },
        }
    }
