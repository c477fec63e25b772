"""The runtime logs through structlog without importing it until a line is logged, and an
application's configuration (``actors.log.configure``) is in force for that first line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# An application that configures structlog through actors.log, then has an actor crash
# (Resume: the crash is logged, the actor goes on) and asks it something afterwards.
_APP = """
import sys
import anyio
import actors
import actors.log

def setup():
    import structlog
    structlog.configure(
        processors=[structlog.processors.KeyValueRenderer(key_order=["event", "actor", "error"])],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
    )

class Fragile(actors.Actor):
    async def receive(self, message):
        if message == "crash":
            raise ValueError("boom")
        return message

async def main():
    actors.log.configure(setup)
    async with actors.ActorSystem(name="app") as system:
        ref = await system.spawn(Fragile, name="fragile", supervision=actors.Resume())
        assert await ref.ask("ping") == "ping"
        print("structlog before the crash:", "structlog" in sys.modules, flush=True)
        await ref.tell("crash")
        assert await ref.ask("ping") == "ping"
    print("structlog after:", "structlog" in sys.modules)

anyio.run(main)
"""


def test_the_first_line_logged_imports_structlog_and_follows_the_application_configuration() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _APP], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "structlog before the crash: False"
    # The crash report, rendered by the application's processors, on its stream.
    assert lines[1].startswith("event='actor failed' actor='fragile' error='ValueError: boom'"), lines
    assert lines[-1] == "structlog after: True"


def test_a_configuration_made_after_structlog_is_imported_applies_at_once() -> None:
    code = _APP.replace("    actors.log.configure(setup)\n", "") + "\nimport structlog\nactors.log.configure(setup)\n"
    code += "actors.log.get_logger('x').warning('late', actor='none', error='none')\n"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "event='late' actor='none' error='none'"


# structlog cannot be imported at first (as with no file descriptor left): the line is
# dropped, the caller goes on; the next line imports it, set up as the application said.
_UNIMPORTABLE = """
import sys
import actors.log

def setup():
    import structlog
    structlog.configure(
        processors=[structlog.processors.KeyValueRenderer(key_order=["event"])],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
    )

actors.log.configure(setup)
log = actors.log.get_logger("app")
sys.modules["structlog"] = None  # an import of it fails
log.error("lost")
print("went on")
del sys.modules["structlog"]
log.error("kept")
"""


def test_a_line_that_cannot_import_structlog_is_dropped_and_the_next_one_logs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _UNIMPORTABLE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["went on", "event='kept'"]
