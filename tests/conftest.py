"""Shared test set-up.

Async tests take the ``backend`` fixture to run twice: under asyncio (run by pytest-asyncio)
and under trio (run here through ``anyio.run``). Tests that only make sense on asyncio mark
themselves ``@pytest.mark.asyncio`` and skip the fixture.
"""

from __future__ import annotations

import compileall
import functools
import inspect
import sys
from typing import Any

import anyio
import pytest
import structlog

from _helpers import ROOT

BACKENDS = [pytest.param("asyncio", marks=pytest.mark.asyncio), pytest.param("trio")]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The async backend the test runs under."""
    return str(request.param)


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """The test module's ``KEY`` as ``OPENAI_API_KEY``, and no ``OPENAI_BASE_URL`` from the
    environment (the ``ModelServer`` of a test is the only server there is)."""
    key = str(request.module.KEY)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return key


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    callspec = getattr(pyfuncitem, "callspec", None)
    if (
        callspec is not None
        and callspec.params.get("backend") == "trio"
        and inspect.iscoroutinefunction(pyfuncitem.obj)
    ):
        kwargs: dict[str, Any] = {
            name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames
        }
        anyio.run(functools.partial(pyfuncitem.obj, **kwargs), backend="trio")
        return True
    return None


def pytest_configure(config: pytest.Config) -> None:
    # Hundreds of tests start `converse` (or a Ray worker, or a benchmark) in a process of its
    # own, importing the code from this checkout. Where the environment says not to write
    # bytecode (PYTHONDONTWRITEBYTECODE, as on our CI machines), each of those processes would
    # compile all of it from source again: 0.7 s a start instead of 0.3. So the checkout's
    # modules are compiled once here, as a first import would; the stale ones only, the next
    # time. A checkout that cannot be written to is left as it is. With the tests spread over
    # worker processes, the process that starts them does it before they start.
    if not hasattr(config, "workerinput"):
        for part in ("actors", "converse", "benchmarks"):
            compileall.compile_dir(ROOT / part, quiet=2)
    # The library only calls structlog; the tests, like an application, choose the output:
    # one plain line per log record on stderr, no rich tracebacks (slow, and noise here).
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.KeyValueRenderer()],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
