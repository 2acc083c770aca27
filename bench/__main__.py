"""`python -m bench [NAME [options]]`: run every benchmark module (each in its own process, so
each can configure Django and its scratch database), or just NAME with its options."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = discover()
    if argv and not argv[0].startswith("-"):
        if argv[0] not in names:
            print(f"Unknown benchmark {argv[0]!r}; available: {', '.join(names)}")
            return 2
        names, options = [argv[0]], argv[1:]
    else:
        options = argv
    failed = []
    for name in names:
        print(f"== bench.{name}", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{name}", *options], check=False)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"Benchmarks that could not run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
