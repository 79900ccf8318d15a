"""``python -m sbert``: the same command line as ``sbert``."""

from ._cli import main

raise SystemExit(main())
