"""`python -m hookline` runs the command line."""

from hookline.cli import main

main()
