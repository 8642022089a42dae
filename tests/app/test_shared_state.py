import multiprocessing
from pathlib import Path

import pytest

from app.shared_state import SLOTS, SharedState, SharedStateError


def _add_many(path: str, times: int) -> None:
    state = SharedState(path)
    for _ in range(times):
        state.add("generation")
    state.close()


def test_values_shared_between_handles(tmp_path: Path) -> None:
    first = SharedState(tmp_path / "state")
    second = SharedState(tmp_path / "state")
    first.set("cache.artikel.ttl_seconds", 30.0)
    assert second.get("cache.artikel.ttl_seconds") == 30.0
    assert second.get("missing", default=-1.0) == -1.0


def test_add_is_atomic_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "state")
    SharedState(path).set("generation", 0)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_many, args=(path, 500)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    assert SharedState(path).get("generation") == 2000


def test_setdefault_keeps_existing_value(tmp_path: Path) -> None:
    state = SharedState(tmp_path / "state")
    assert state.setdefault("limit", 100) == 100
    assert state.setdefault("limit", 5) == 100
    assert dict(state.items()) == {"limit": 100}


def test_full_file_and_bad_names_raise(tmp_path: Path) -> None:
    state = SharedState(tmp_path / "state")
    for index in range(SLOTS):
        state.set(f"slot{index}", index)
    with pytest.raises(SharedStateError, match="full"):
        state.set("one-more", 1)
    with pytest.raises(SharedStateError, match="invalid shared state name"):
        state.get("x" * 100)


def test_temporary_state_leaves_no_file() -> None:
    state = SharedState.temporary()
    state.add("n", 2)
    assert state.get("n") == 2
    assert not state.path.exists()
