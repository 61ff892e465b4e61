"""Run the command line as ``python -m tsrnn``."""

from __future__ import annotations

from tsrnn.cli import main

raise SystemExit(main())
