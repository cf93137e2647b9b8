"""`python -m specc` runs the command line, for when the script is not on PATH."""

from specc.entry import main

main(prog_name="specc")
