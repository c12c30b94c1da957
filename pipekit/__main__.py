"""`python -m pipekit`: the same as the `pipekit` command."""

from pipekit.cli import main

main()
