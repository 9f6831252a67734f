"""`make up` restarts notify's components when FRAMEGATE_NOTIFY_ALLOW changes."""
from __future__ import annotations

from types import SimpleNamespace

from framegate.stack_services import notify_allow_changed


def test_a_changed_allow_list_restarts_notify_and_nothing_else(tmp_path, monkeypatch):
    (tmp_path / "run").mkdir()
    st = SimpleNamespace(data=tmp_path)
    monkeypatch.setenv("FRAMEGATE_NOTIFY_ALLOW", "127.0.0.0/8")
    assert not notify_allow_changed(st, "notify-worker")  # first start: nothing to compare
    assert not notify_allow_changed(st, "notify-worker")  # the same again
    monkeypatch.setenv("FRAMEGATE_NOTIFY_ALLOW", "10.1.0.0/16")
    assert notify_allow_changed(st, "notify-worker")
    assert not notify_allow_changed(st, "notify-worker")
    monkeypatch.delenv("FRAMEGATE_NOTIFY_ALLOW")
    assert notify_allow_changed(st, "notify-worker")
    assert not notify_allow_changed(st, "ingest")
