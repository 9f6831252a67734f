"""A version's status from its append-only states."""
from datetime import datetime, timedelta, timezone

from services.ingest.version_status import current_status

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def state(seconds: int, status: str, **extra) -> dict:
    return {"at": T0 + timedelta(seconds=seconds), "status": status, **extra}


def test_the_furthest_state_wins_and_a_late_progress_does_not_move_it_back():
    states = [state(0, "transcoding"), state(5, "ready", renditions={"k": 1}), state(6, "transcoding")]
    assert current_status(states) == {"status": "ready", "renditions": {"k": 1}}


def test_a_transcode_failure_is_final():
    states = [state(0, "failed", code="master_corrupt", reason="r"), state(9, "ready")]
    assert current_status(states)["status"] == "failed"


def test_a_job_that_finishes_after_the_reconciler_gave_up_on_it_is_ready():
    """The reconciler's `stuck` is a guess that the job was lost; renditions prove otherwise."""
    states = [state(0, "transcoding"), state(5, "failed", code="stuck", reason="did not finish"),
              state(9, "ready", renditions={"k": 1})]
    assert current_status(states)["status"] == "ready"
    assert current_status(states[:2]) == {"status": "failed", "code": "stuck", "reason": "did not finish"}
