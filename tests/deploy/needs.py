"""Deploy tests need tools: images, podman, kustomize, promtool.

`make test-deploy` builds the images and installs the checkers first and sets
FRAMEGATE_DEPLOY_TESTS=require, so a missing tool fails there; run any other
way (e.g. inside `make test`) the tests skip with the reason instead.
"""
from __future__ import annotations

import os

import pytest


def need(reason: str | None) -> None:
    if reason is None:
        return
    if os.environ.get("FRAMEGATE_DEPLOY_TESTS") == "require":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
