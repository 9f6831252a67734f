"""Workflow templates: ordered stages, each with an optional default gate.

Built-in templates ship in services/approval/templates/; an admin adds more
as YAML files in the directory named by FRAMEGATE_WORKFLOW_DIR.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .gates import Gate, GateError, parse_gate

BUILT_IN = Path(__file__).parent / "templates"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    gate: Gate

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "gate": self.gate.to_dict()}


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    stages: tuple[Stage, ...]

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "stages": [s.to_dict() for s in self.stages]}

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise GateError("unknown_stage", f"No stage {name!r}; stages: {', '.join(s.name for s in self.stages)}.", 404)


def parse_template(raw, origin: str = "template") -> Template:
    """Validate a template's YAML form; raises GateError naming the problem."""
    if not isinstance(raw, dict):
        raise GateError("invalid_template", f"{origin}: a template is a mapping with name and stages.")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise GateError("invalid_template", f"{origin}: name must be lower-case letters, digits and dashes.")
    stages_raw = raw.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        raise GateError("invalid_template", f"{origin}: stages must be a non-empty list.")
    stages = []
    for i, s in enumerate(stages_raw, 1):
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not NAME.match(s["name"]):
            raise GateError("invalid_template", f"{origin}: stage {i} needs a name of lower-case letters, digits and dashes.")
        stages.append(Stage(s["name"], str(s.get("title") or s["name"]), parse_gate(s.get("gate") or {})))
    if len({s.name for s in stages}) != len(stages):
        raise GateError("invalid_template", f"{origin}: two stages have the same name.")
    return Template(name, str(raw.get("title") or name), tuple(stages))


def template_dirs() -> list[Path]:
    extra = os.environ.get("FRAMEGATE_WORKFLOW_DIR")
    return [BUILT_IN] + ([Path(extra)] if extra else [])


def load_templates(dirs: list[Path] | None = None) -> dict[str, Template]:
    """Every template by name; a later directory's template replaces a built-in of the same name."""
    found: dict[str, Template] = {}
    for directory in dirs or template_dirs():
        for path in sorted(Path(directory).glob("*.y*ml")):
            template = parse_template(yaml.safe_load(path.read_text()), path.name)
            found[template.name] = template
    return found
