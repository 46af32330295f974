"""``python -m sessionhub`` is the ``sessionhub`` command."""

from .cli import main

main()
