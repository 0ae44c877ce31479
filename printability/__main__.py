"""`python -m printability` runs the command-line tool."""

from printability.cli import main

raise SystemExit(main())
