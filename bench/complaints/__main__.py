"""`python -m bench.complaints` (what `python -m bench complaints` runs)."""

from bench.complaints import main

main()
