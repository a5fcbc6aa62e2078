"""The train log of every method has exactly the columns the compiler plots."""

import importlib

from repro.contract import curves
from repro.contract.methods import METHOD_MODULES


def test_trl_methods_log_the_declared_columns():
    for method, module in METHOD_MODULES.items():
        logged = getattr(importlib.import_module(module), "LOGGED", ())
        assert tuple(c for c, _ in logged) == curves.METHOD_COLUMNS[method], method


def test_every_method_has_columns_and_a_family():
    assert set(curves.METHOD_COLUMNS) == set(METHOD_MODULES) == set(curves.FAMILY)


def test_trl_log_header():
    from runners.methods.trl_common import Log

    log = Log(extra=curves.METHOD_COLUMNS["dpo"], keys=("a", "b"))
    assert log.csv().splitlines()[0] == ",".join(("step", *curves.columns({"method": "dpo"})))
