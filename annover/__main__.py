"""``python -m annover`` and the ``annover`` command (``annover.__main__:entry``).

A Ctrl-C while the command line is still loading (click, the command's modules) would
end in Python's traceback of the interrupted import: until ``entry`` handles it, SIGINT
is exit 130 in one line, as it is afterwards. Installed only by running the command,
never by ``import annover``. A SIGINT the caller ignores (``nohup``, ``&``) stays ignored.
"""

import os
import signal


def _interrupted(signum: int, frame: object) -> None:
    os.write(2, b"Interrupted.\n")
    os._exit(130)


_previous = signal.getsignal(signal.SIGINT)
if _previous is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted)

from annover.cli import entry  # noqa: E402  (after the handler: this import is what a Ctrl-C interrupts)

if _previous is signal.default_int_handler:
    signal.signal(signal.SIGINT, _previous)

__all__ = ["entry"]

if __name__ == "__main__":
    entry()
