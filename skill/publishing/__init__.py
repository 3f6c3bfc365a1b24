"""Publishing the skill: its manifest, the ASK CLI layout, and the public pages the manifest links to.

``manifest.py`` builds ``skill.json`` for one endpoint from ``listing.json`` (the store texts per
locale) and the code's own vocabularies; ``skill_package.py`` writes what ``ask deploy`` uploads;
``pages.py`` serves the privacy and terms pages (``pages/*.html``) and the icons (``icons.py``).
"""
