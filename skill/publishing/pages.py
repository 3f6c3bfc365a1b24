"""The public pages the skill manifest links to: the privacy policy, the terms of use, the icons.

They carry no user data and need no Alexa signature; the store and the Alexa app fetch them.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from flask import Blueprint, Response, abort

from skill.publishing.icons import SIZES, icon_png
from skill.publishing.manifest import PRIVACY_PATH, TERMS_PATH

bp = Blueprint("publishing", __name__)

# The pages change only with a release; let browsers and the store keep them for a day.
CACHE = "public, max-age=86400"


@cache
def _page(name: str) -> str:
    return files("skill.publishing").joinpath("pages", f"{name}.html").read_text("utf-8")


def _html(name: str) -> Response:
    response = Response(_page(name), mimetype="text/html")
    response.headers["Cache-Control"] = CACHE
    return response


@bp.get(PRIVACY_PATH)
def privacy() -> Response:
    return _html("privacy")


@bp.get(TERMS_PATH)
def terms() -> Response:
    return _html("terms")


@bp.get("/icons/<int:size>.png")
def icon(size: int) -> Response:
    if size not in SIZES:
        abort(404, description=f"icons come in {' and '.join(map(str, SIZES))} pixels")
    response = Response(icon_png(size), mimetype="image/png")
    response.headers["Cache-Control"] = CACHE
    return response
