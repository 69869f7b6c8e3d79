"""Entry point for python -m rehab."""
from rehab.cli import main

main()
