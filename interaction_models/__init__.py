"""The Alexa interaction models, one JSON file per locale, shipped as package data.

`build.py` writes them; `cramp-coach skill-package` copies them into the ASK CLI layout.
"""
