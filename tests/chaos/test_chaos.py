"""The short chaos run of `make test`: every process of the stack is SIGKILLed
once while versions upload and transcode; nothing the client saw acknowledged
is lost, duplicated or left stuck. `make chaos` runs the long one."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.chaos import chaos

pytestmark = pytest.mark.slow


def test_every_process_killed_once_loses_nothing(tmp_path):
    seed = int(os.environ.get("FRAMEGATE_CHAOS_SEED") or random.randrange(1 << 30))
    outcome = chaos.run(Path(os.environ["FRAMEGATE_DATA"]), versions=8, rounds=1, seed=seed,
                        workdir=tmp_path / "clips", settle_seconds=240)
    assert outcome.acknowledged > 0, "no upload was acknowledged at all"
    assert outcome.clean, f"seed {seed}: {outcome.line()}\n" + "\n".join(
        outcome.lost + outcome.duplicated + outcome.stuck + outcome.failed)
