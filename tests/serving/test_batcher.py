"""The server's model thread: requests waiting with the same settings run as one batch."""

import threading
import time

import pytest

from common.serving import Batcher


def _recording(delay=0.05):
    calls = []

    def run(key, items):
        calls.append((key, list(items)))
        time.sleep(delay)  # while it runs, other requests queue up
        if "boom" in items:
            raise RuntimeError("boom")
        return [f"{key}:{item}" for item in items]

    return run, calls


def _submit_all(batcher, requests):
    answers = [None] * len(requests)

    def client(i, key, items, alone=False):
        try:
            answers[i] = batcher.submit(key, items, alone)
        except RuntimeError as error:
            answers[i] = error

    threads = [threading.Thread(target=client, args=(i, *request))
               for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
        time.sleep(0.002)
    for thread in threads:
        thread.join(10)
    return answers


def test_waiting_requests_with_the_same_key_share_a_call_and_get_their_own_results():
    run, calls = _recording()
    batcher = Batcher(run, max_batch=32)
    requests = [(("greedy",), [f"t{i}", f"u{i}"]) for i in range(8)]
    answers = _submit_all(batcher, requests)
    assert answers == [[f"('greedy',):t{i}", f"('greedy',):u{i}"] for i in range(8)]
    assert len(calls) < len(requests)  # the first runs alone, the rest together
    assert sorted(item for _, items in calls for item in items) == sorted(
        item for _, items in requests for item in items)


def test_other_keys_never_share_a_batch_and_max_batch_holds():
    run, calls = _recording()
    batcher = Batcher(run, max_batch=3)
    requests = [((i % 2,), [f"t{i}"]) for i in range(10)]
    answers = _submit_all(batcher, requests)
    assert answers == [[f"({i % 2},):t{i}"] for i in range(10)]
    for key, items in calls:
        assert len(items) <= 3
        assert all(f"({key[0]},):{item}" in [a[0] for a in answers] for item in items)
        assert {int(item[1:]) % 2 for item in items} == {key[0]}


def test_an_error_reaches_its_batch_only():
    run, calls = _recording()
    batcher = Batcher(run, max_batch=1)
    answers = _submit_all(batcher, [(("k",), ["a"]), (("k",), ["boom"]), (("k",), ["b"])])
    assert answers[0] == ["('k',):a"] and answers[2] == ["('k',):b"]
    assert isinstance(answers[1], RuntimeError)
    assert [items for _, items in calls] == [["a"], ["boom"], ["b"]]


def test_a_request_submitted_alone_is_never_batched_and_the_others_still_are():
    run, calls = _recording()
    batcher = Batcher(run, max_batch=32)
    # The same key for all; every other request asks to run alone.
    requests = [(("k",), [f"t{i}"], i % 2 == 1) for i in range(10)]
    answers = _submit_all(batcher, requests)
    assert answers == [[f"('k',):t{i}"] for i in range(10)]
    for i in range(1, 10, 2):
        assert [f"t{i}"] in [items for _, items in calls]  # a call of its own
    batched = [items for _, items in calls if len(items) > 1]
    assert batched and all(int(item[1:]) % 2 == 0 for items in batched for item in items)


def test_max_batch_one_runs_each_request_alone():
    run, calls = _recording(delay=0.01)
    batcher = Batcher(run, max_batch=1)
    _submit_all(batcher, [(("k",), [str(i)]) for i in range(6)])
    assert all(len(items) == 1 for _, items in calls) and len(calls) == 6


@pytest.mark.parametrize("max_batch", [0, -3])
def test_max_batch_below_one_means_one(max_batch):
    assert Batcher(lambda key, items: items, max_batch=max_batch).max_batch == 1
