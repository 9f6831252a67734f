"""The reconciler's rules: how long a job may take, and what to do about a version."""
from services.ingest.reconciler import Policy, job_bound_seconds, next_step, stuck_reason

POLICY = Policy(floor_seconds=600, per_media_second=20, bytes_per_second=10_000_000,
                job_limit_seconds=4 * 3600, max_redispatches=2)


def test_a_short_small_master_gets_the_floor():
    assert job_bound_seconds(2.0, 1_000_000, POLICY) == 600


def test_the_bound_grows_with_duration_and_size():
    # 60 s of media at 20 s a second, plus 1 GB down and renditions up at 10 MB/s
    assert job_bound_seconds(60.0, 1_000_000_000, POLICY) == 1200 + 2 * 100


def test_encoding_time_is_capped_by_the_worker_time_limit():
    assert job_bound_seconds(36_000.0, 0, POLICY) == 4 * 3600


def test_unknown_duration_still_gets_the_floor():
    assert job_bound_seconds(None, None, POLICY) == 600


def test_a_settled_or_recent_version_is_left_alone():
    assert next_step("ready", 10_000, 600, 0, POLICY) == "wait"
    assert next_step("failed", 10_000, 600, 0, POLICY) == "wait"
    assert next_step("transcoding", 599, 600, 0, POLICY) == "wait"


def test_a_stuck_version_is_sent_again_then_failed():
    for status in ("uploaded", "transcoding", "playable"):
        assert next_step(status, 601, 600, 0, POLICY) == "redispatch"
        assert next_step(status, 601, 600, 1, POLICY) == "redispatch"
        assert next_step(status, 601, 600, 2, POLICY) == "fail"


def test_the_reason_says_how_long_and_how_often():
    reason = stuck_reason(1800, 3)
    assert "did not finish in 30 min" in reason and "3 times" in reason
