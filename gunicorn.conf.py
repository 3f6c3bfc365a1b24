"""gunicorn reads this file from the working directory; the settings live in the package.

An installed copy has no checkout: there, run ``gunicorn -c python:skill.gunicorn_conf``.
"""

from skill.gunicorn_conf import *  # noqa: F403
