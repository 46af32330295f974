"""``python -m sessionhub.cli``: the same as the ``sessionhub`` console script."""

from . import main

main()
