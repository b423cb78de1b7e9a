"""The lock of exact tested versions: `make lock` writes it from a venv, `make check-deps` verifies a venv.

    python .ci/lock.py write [requirements.lock]   every installed package, pinned (agileclf itself left out)
    python .ci/lock.py check                       `pip check`, tolerating the packages in .ci/no-deps.txt

`make setup` installs the lock with --no-deps (it already holds every transitive package), so a fresh machine
gets exactly the set the tests passed on; pyproject.toml keeps open ranges for library users.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NO_DEPS = ROOT / ".ci" / "no-deps.txt"
HEADER = """\
# Exact versions the test suite passed with: every package of the venv, transitive ones included.
# Regenerate with `make lock` after adding or upgrading a dependency (and passing `make test`); `make setup` and CI
# install it with --no-deps after torch's CPU build. Library users get pyproject.toml's open ranges instead.
"""


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


def no_deps_packages() -> set[str]:
    """Packages installed without their requirements on purpose (one name a line, # comments)."""
    if not NO_DEPS.is_file():
        return set()
    lines = (line.split("#", 1)[0].strip() for line in NO_DEPS.read_text().splitlines())
    return {normalize(line) for line in lines if line}


def normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def write(path: Path) -> int:
    frozen = pip("freeze", "--exclude-editable")
    if frozen.returncode:
        sys.stderr.write(frozen.stderr)
        return 1
    pins = []
    for line in frozen.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if " @ " in line or "==" not in line:
            sys.stderr.write(f"lock: {line!r} is not a pinned release from an index; install it from one first\n")
            return 1
        if normalize(line.split("==")[0]) != "agileclf":
            pins.append(line)
    pins.sort(key=lambda pin: normalize(pin.split("==")[0]))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(HEADER + "\n".join(pins) + "\n")
    tmp.replace(path)
    print(f"wrote {path}: {len(pins)} packages")
    return 0


def check() -> int:
    """pip check, ignoring the unmet requirements of packages deliberately installed with --no-deps."""
    result = pip("check")
    tolerated = no_deps_packages()
    problems = [
        line for line in result.stdout.splitlines() if line.strip() and normalize(line.split()[0]) not in tolerated
    ]
    if result.returncode and problems:
        sys.stdout.write("\n".join(problems) + "\n")
        return 1
    print("pip check: the installed packages are consistent" + (f" (no-deps: {', '.join(sorted(tolerated))})"
                                                                 if tolerated else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "write":
        sys.exit(write(Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "requirements.lock"))
    if command == "check":
        sys.exit(check())
    sys.exit(__doc__)
