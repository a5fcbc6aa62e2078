import math

import pytest

from runners.training.loop import total_steps
from runners.training.optim import lr_factor


def test_warmup_then_constant():
    assert [lr_factor(s, 10, "constant", 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_linear_and_cosine_decay():
    assert lr_factor(0, 10, "linear", 0) == 1.0
    assert lr_factor(5, 10, "linear", 0) == pytest.approx(0.5)
    assert lr_factor(5, 10, "cosine", 0) == pytest.approx(0.5)
    assert lr_factor(9, 10, "cosine", 0) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.9)))


def test_total_steps_from_epochs():
    train = {"max_steps": None, "epochs": 2, "batch_size": 4, "grad_accum": 2}
    assert total_steps(10, train) == 4  # 3 micro-batches per epoch -> 2 steps per epoch
    assert total_steps(10, train | {"max_steps": 7}) == 7
