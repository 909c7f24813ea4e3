"""Small CPU fits run on one torch thread and give torch's setting back."""

import threading

import torch

from skdl.training.threads import SMALL_STEP_FLOPS, cpu_threads

CPU = torch.device("cpu")


def test_small_work_runs_on_one_thread_and_restores_the_setting():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with cpu_threads(CPU, SMALL_STEP_FLOPS / 10):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with cpu_threads(CPU, SMALL_STEP_FLOPS * 10):  # large work keeps the setting
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_overlapping_fits_in_two_threads_keep_their_own_settings():
    """A enters, B enters, A leaves, B leaves: each thread runs its small work on
    one thread and gets its own setting back; the caller's thread is untouched
    (the setting is per thread under torch's OpenMP backend)."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def fit(name, entered, wait_for, after=None):
        torch.set_num_threads(2)
        with cpu_threads(CPU, 1.0):
            entered.set()
            wait_for.wait(5)
            seen[f"{name} inside"] = torch.get_num_threads()
        if after is not None:
            after.set()
        seen[f"{name} after"] = torch.get_num_threads()

    def fit_b():
        a_in.wait(5)
        fit("b", b_in, a_out)

    before = torch.get_num_threads()
    threads = [threading.Thread(target=fit, args=("a", a_in, b_in, a_out)),
               threading.Thread(target=fit_b)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"a inside": 1, "a after": 2, "b inside": 1, "b after": 2}
    assert torch.get_num_threads() == before
