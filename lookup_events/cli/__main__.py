"""Run the command line as ``python -m lookup_events.cli``."""

from lookup_events.cli import main

main(prog_name="dtool-lookup")
