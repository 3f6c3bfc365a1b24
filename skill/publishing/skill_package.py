"""Writes the layout ``ask deploy`` (ASK CLI v2) uploads for a self-hosted skill:

    OUT/ask-resources.json                                  the project file: where the package is
    OUT/skill-package/skill.json                            the manifest for this endpoint
    OUT/skill-package/interactionModels/custom/<locale>.json

``skill-package/`` is generated: it is replaced as a whole each time. ``ask-resources.json`` is
written only when missing, and ``.ask/`` (where the ASK CLI keeps the skill id) is never touched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from skill.publishing.manifest import build_manifest, interaction_model, model_locales

PACKAGE_DIR = "skill-package"
RESOURCES_FILE = "ask-resources.json"
# No skill code or infrastructure entries: the ASK CLI deploys the metadata only, and the
# operator runs the server (docs/deploy.md).
ASK_RESOURCES: dict[str, Any] = {
    "askcliResourcesVersion": "2020-03-31",
    "profiles": {"default": {"skillMetadata": {"src": f"./{PACKAGE_DIR}"}}},
}


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_skill_package(out: Path, endpoint: str, certificate: str = "Trusted") -> list[Path]:
    """Write the layout under ``out`` and return the files written."""
    manifest = build_manifest(endpoint, certificate)  # first: a bad endpoint writes nothing
    package = out / PACKAGE_DIR
    if package.is_symlink() or (package.exists() and not package.is_dir()):
        raise ValueError(f"{package} is not a folder this command may replace")
    if package.exists():
        shutil.rmtree(package)
    models = package / "interactionModels" / "custom"
    models.mkdir(parents=True)
    written = [package / "skill.json"]
    written[0].write_text(_json(manifest), encoding="utf-8")
    for locale in model_locales():
        path = models / f"{locale}.json"
        path.write_bytes(interaction_model(locale))
        written.append(path)
    resources = out / RESOURCES_FILE
    if not resources.exists():
        resources.write_text(_json(ASK_RESOURCES), encoding="utf-8")
        written.append(resources)
    return written
