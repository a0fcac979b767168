"""The response settings: `respond.yaml` in the data folder, loaded into pydantic.

    version: 1
    backends: {...}          # vigil.respond.adapters.config.RespondConfig: gateways, SCIM, channels
    approvals: {...}         # vigil.respond.approvals.ApprovalPolicy: approvers, rules, expiry
    modes: {default: assisted, regions: {west: autonomous}, stores: {"031": detect_only}}
    playbooks: [playbooks]   # folders or files of your own playbooks, next to the shipped pack
    use_pack: true

A missing file means the defaults: the shipped pack, assisted mode everywhere,
no approvers (so nothing that needs approval can run until some are
configured), no adapters. Secrets stay in the environment (`*_env` fields).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from vigil.respond.adapters.config import RespondConfig
from vigil.respond.approvals import ApprovalPolicy
from vigil.respond.modes import ModeConfig
from vigil.respond.playbooks.errors import SettingsError
from vigil.respond.playbooks.loader import pack_files
from vigil.respond.playbooks.vocab import Model

SETTINGS_FILE = "respond.yaml"


class ResponseSettings(Model):
    version: Literal[1] = Field(default=1, description="Format version of this file.")
    backends: RespondConfig = Field(
        default_factory=RespondConfig, description="Adapters: gateways, SCIM, channels, MQTT."
    )
    approvals: ApprovalPolicy = Field(
        default_factory=ApprovalPolicy, description="Approvers, rules, expiry, escalation."
    )
    modes: ModeConfig = Field(
        default_factory=ModeConfig, description="Response mode per store and region."
    )
    playbooks: list[str] = Field(
        default_factory=lambda: ["playbooks"],
        description="Folders or files of local playbooks, relative to the data folder.",
    )
    use_pack: bool = Field(default=True, description="Load the shipped playbooks as well.")

    def playbook_paths(self, data_dir: Path) -> list[Path]:
        local = [data_dir / name for name in self.playbooks if (data_dir / name).exists()]
        return [*(pack_files() if self.use_pack else []), *local]


def load_response_settings(data_dir: Path) -> ResponseSettings:
    """`respond.yaml` of a data folder (the defaults when there is none)."""
    path = data_dir / SETTINGS_FILE
    if not path.exists():
        return ResponseSettings()
    try:
        raw = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        return ResponseSettings.model_validate(raw or {})
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot read: {error}") from error
    except YAMLError as error:
        raise SettingsError(f"{path}: malformed YAML: {error}") from error
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise SettingsError(f"{path}: {problems}") from error
