"""The Lambda code, packaged without Docker: one core layer installed by pip for Lambda's platform, thin functions.

CDK fingerprints an asset folder by its files' paths and bytes, so the same sources must give the same bytes:
nothing here writes timestamps or paths of the building machine into an asset. The layer carries bytecode, compiled
by an interpreter of Lambda's Python version: /opt is read-only, so without it every cold start compiles every module
it imports (~0.6 s of a handler's ~0.9 s import, measured on this machine's Python). This module only builds
folders (the stack imports it; it needs no aws-cdk-lib). `python -m infra.packaging` builds the arm64 layer and
prints its size.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import os
import platform as host
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
FUNCTIONS = ROOT / "functions"
_PYPROJECT = ROOT / "pyproject.toml"
_CONSTRAINTS = ROOT / "constraints.txt"
_CORE_PACKAGE = ROOT / "layers" / "core" / "omnijourney"
_CONFIG = ROOT / "config"
_JOURNEYS = ROOT / "journeys"

LAMBDA_PLATFORM = "manylinux2014_aarch64"
# Not 3.14: bytecode needs an interpreter of the runtime's version to compile it, and 3.13 is the newest the
# build machines have (docs/architecture.md).
LAMBDA_PYTHON = "3.13"
# Where Lambda puts a layer's python/ folder: tracebacks name the files there.
LAYER_PYTHON_PATH = "/opt/python"
# The same layer for this machine, to load handlers as Lambda would in tests and benchmarks.
HOST_PLATFORM = "manylinux2014_" + {"amd64": "x86_64", "arm64": "aarch64"}.get(
    host.machine().lower(), host.machine().lower()
)
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
# Lambda unpacks a layer into /opt: python/ is on sys.path, and the shared definitions sit beside it, where the
# stack points OMNIJOURNEY_CONFIG_DIR and OMNIJOURNEY_JOURNEYS_DIR.
LAYER_CONFIG_DIR = "/opt/omnijourney/config"
LAYER_JOURNEYS_DIR = "/opt/omnijourney/journeys"
# The daily consistency audit's statements (metrics/*.sql rendered for Athena), where the stack points
# OMNIJOURNEY_METRICS_DIR.
LAYER_METRICS_DIR = "/opt/omnijourney/metrics"
# A function's code and all its layers, unzipped: 262,144,000 bytes in Lambda's own error message.
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024

# Not wanted in Lambda: pip's bytecode (for the Python that ran pip, with timestamps that differ from build to build;
# the layer's own is compiled below) and the packages' own test suites.
_STRIPPED_FOLDERS = frozenset({"__pycache__", "tests"})


class PackageTooLarge(ValueError):
    """A function with its layers is over Lambda's unzipped size limit: the deployment would be refused."""


class UnpinnedDependency(RuntimeError):
    """pip chose a version constraints.txt does not pin: the layer would hold code the tests never ran."""


def runtime_requirements() -> list[str]:
    """The `[project] dependencies` of pyproject.toml: exactly what the layer ships."""
    with _PYPROJECT.open("rb") as file:
        requirements: list[str] = tomllib.load(file)["project"]["dependencies"]
    return requirements


def constraint_pins() -> dict[str, str]:
    """constraints.txt as normalized name → version: the versions every test ran against."""
    pins: dict[str, str] = {}
    for line in _CONSTRAINTS.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, version = requirement.split("==")
            pins[_normalized(name)] = version.strip()
    return pins


def function_names() -> list[str]:
    """Every function of the system: each folder of functions/ with a handler.py."""
    return sorted(handler.parent.name for handler in FUNCTIONS.glob("*/handler.py"))


def build_layer(
    *, platform: str = LAMBDA_PLATFORM, python_version: str = LAMBDA_PYTHON, out: Path | None = None
) -> Path:
    """The core layer folder: python/ (the runtime dependencies and the omnijourney package) and omnijourney/
    (config, journeys and the audit's statements), as Lambda will find them under /opt.

    Built once per set of inputs and then returned from the cache in `out` (default build/layer): the layer in
    <out>/<hash>, the dependencies alone in <out>/deps/<hash>, so an edit to the domain package or to a journey
    copies files and does not run pip again.
    """
    root = out or BUILD / "layer"
    recipe = _Digest()
    # A change to how the layer is built is a change to the layer.
    recipe.add(Path(__file__).read_bytes(), platform, python_version, *runtime_requirements())
    recipe.add(*(f"{name}=={version}" for name, version in sorted(constraint_pins().items())))
    compiler = bytecode_compiler(python_version)
    recipe.add("bytecode" if compiler else "no bytecode")
    dependencies = _cached(
        root / "deps" / recipe.hexdigest(),
        lambda staging: _install_dependencies(staging, platform, python_version, compiler),
    )

    sources = [(destination, source.read_bytes()) for source, destination in _layer_sources()]
    sources += [(f"omnijourney/metrics/{name}.sql", text.encode()) for name, text in audit_statements().items()]
    for destination, content in sources:
        recipe.add(destination, content)
    return _cached(root / recipe.hexdigest(), lambda staging: _assemble(staging, dependencies, sources, compiler))


def audit_statements() -> dict[str, str]:
    """The daily consistency audit's statements (omnijourney.analytics.athena), by metric: metrics/*.sql composed
    and rendered for Athena here, as the layer does not ship sqlglot, with the quiet hours of config/consistency.yaml
    and the range of `MARKER_DAY`, which each audit replaces by its own day."""
    from omnijourney.analytics.athena import AUDIT_METRICS, MARKER_DAY, AthenaEngine, statement_for_day
    from omnijourney.app import config
    from omnijourney_tools.scorecard.definitions import Definitions, Scope

    quiet_hours = config.consistency().quiet_hours
    scope = Scope(
        quiet_start=quiet_hours.start,
        quiet_end=quiet_hours.end,
        quiet_channels=tuple(quiet_hours.channels),
        default_timezone=quiet_hours.default_timezone,
        first_day=MARKER_DAY,
        last_day=MARKER_DAY,
    )
    definitions = Definitions()
    statements = {metric: definitions.statement(metric, scope, AthenaEngine.dialect) for metric in AUDIT_METRICS}
    for statement in statements.values():
        statement_for_day(statement, MARKER_DAY)  # each audit can put its day in: fails the build, not the audit
    return statements


def bytecode_compiler(python_version: str) -> str | None:
    """An interpreter of `python_version` to compile the layer with: this one, `pythonX.Y` on PATH, or one that
    pyenv or uv installed. None, with a warning, when there is none: the layer then works, but cold starts compile."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == python_version:
        return sys.executable
    home = Path.home()
    candidates = [
        shutil.which(f"python{python_version}"),
        *sorted(str(path) for path in home.glob(f".pyenv/versions/{python_version}.*/bin/python{python_version}")),
        *sorted(str(path) for path in home.glob(f".local/share/uv/python/cpython-{python_version}.*/bin/python3")),
    ]
    for candidate in candidates:
        if candidate and _python_version(candidate) == python_version:
            return candidate
    print(
        f"warning: no Python {python_version} found to compile the layer's bytecode; cold starts will compile it",
        file=sys.stderr,
    )
    return None


def _python_version(interpreter: str) -> str | None:
    try:
        answer = subprocess.run(  # noqa: S603 - an interpreter found on this machine, asked its version
            [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):  # a pyenv shim of a version not selected fails
        return None
    return answer.stdout.strip()


def _compile(folder: Path, compiler: str, strip: Path) -> None:
    """Bytecode beside every module in `folder`, naming its file as Lambda will see it. Checked by source hash, not
    timestamp, and with a fixed hash seed (set constants), so the same sources give the same bytes."""
    subprocess.run(  # noqa: S603 - an interpreter found on this machine, compiling the folder being built
        [
            compiler,
            "-m",
            "compileall",
            "-q",
            "-q",  # a module some package ships that does not compile (a template) is skipped, as pip skips it
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(strip),
            "-p",
            LAYER_PYTHON_PATH,
            str(folder),
        ],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=False,
    )


def function_asset(name: str) -> Path:
    """build/functions/<name>/ holding only that function's handler.py, so its CDK asset holds nothing else."""
    handler = FUNCTIONS / name / "handler.py"
    if not handler.is_file():
        raise FileNotFoundError(f"no function {name!r}: {handler} does not exist")
    folder = BUILD / "functions" / name
    copy = folder / "handler.py"
    if [entry.name for entry in folder.glob("*")] != ["handler.py"] or copy.read_bytes() != handler.read_bytes():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copyfile(handler, copy)
    return folder


def layer_size(path: Path) -> int:
    """Bytes of every file under `path`, as Lambda counts them once unzipped."""
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file() and not file.is_symlink())


def check_unzipped_size(function: Path, *layers: Path) -> int:
    """The unzipped size of a function with its layers, if Lambda accepts it; raises PackageTooLarge if not."""
    total = layer_size(function) + sum(layer_size(layer) for layer in layers)
    if total > LAMBDA_UNZIPPED_LIMIT:
        raise PackageTooLarge(
            f"{function.name} with its layers is {_mb(total)} unzipped; Lambda's limit is {_mb(LAMBDA_UNZIPPED_LIMIT)}"
        )
    return total


class _Digest:
    """SHA-256 over length-prefixed parts, so no two different lists of parts hash alike."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, *parts: str | bytes) -> None:
        for part in parts:
            data = part.encode() if isinstance(part, str) else part
            self._hash.update(len(data).to_bytes(8, "big"))
            self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()[:16]


def _layer_sources() -> list[tuple[Path, str]]:
    """(file in the repository, path inside the layer) for everything the layer takes from the repository."""
    package = [
        (file, f"python/omnijourney/{file.relative_to(_CORE_PACKAGE).as_posix()}")
        for file in _CORE_PACKAGE.rglob("*")
        if file.is_file() and file.suffix != ".pyc" and "__pycache__" not in file.parts
    ]
    config = [(file, f"omnijourney/config/{file.name}") for file in _CONFIG.glob("*.yaml")]
    journeys = [
        (file, f"omnijourney/journeys/{file.relative_to(_JOURNEYS).as_posix()}") for file in _JOURNEYS.rglob("*.yaml")
    ]
    return sorted(package + config + journeys, key=lambda source: source[1])


def _cached(folder: Path, build: Callable[[Path], None]) -> Path:
    """`folder`, built by `build` into a staging folder and renamed into place, so a folder that exists is whole."""
    if folder.is_dir():
        return folder
    with _exclusive(folder.parent):
        if folder.is_dir():  # built by another process while this one waited
            return folder
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            # mkdtemp makes it private (0700); Lambda's runtime user must be able to read the layer.
            staging.chmod(0o755)
            build(staging)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold `folder`'s lock: pytest's workers and a synth may want the same build at once, and one build is enough."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _install_dependencies(target: Path, platform: str, python_version: str, compiler: str | None) -> None:
    # Wheels only, chosen for Lambda's platform and Python rather than this machine's: nothing is compiled here.
    subprocess.run(  # noqa: S603 - our own interpreter's pip, with arguments from this repository
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--platform",
            platform,
            "--python-version",
            python_version,
            "--implementation",
            "cp",
            "--only-binary=:all:",
            "--no-compile",
            "--target",
            str(target),
            "--constraint",
            str(_CONSTRAINTS),
            *runtime_requirements(),
        ],
        check=True,
    )
    # pip's console scripts carry a shebang naming this machine's interpreter, and Lambda never runs them.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for folder in list(target.rglob("*")):
        if folder.name in _STRIPPED_FOLDERS and folder.is_dir():  # not if a parent went already
            shutil.rmtree(folder)
    _forget_removed_files(target)
    pins = constraint_pins()
    unpinned = sorted(
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in distributions(path=[str(target)])
        if pins.get(_normalized(dist.metadata["Name"])) != dist.version
    )
    if unpinned:
        raise UnpinnedDependency(f"not pinned in constraints.txt: {', '.join(unpinned)}")
    if compiler is not None:
        _compile(target, compiler, target)


def _forget_removed_files(target: Path) -> None:
    """Drop from each RECORD the files removed above. The scripts' lines hash a shebang naming the interpreter
    that ran pip, so keeping them would change the layer's asset hash from one checkout to the next."""
    root = target.resolve()
    for record in target.glob("*.dist-info/RECORD"):
        lines = record.read_bytes().decode().splitlines(keepends=True)
        kept = [line for line in lines if _holds(root, next(csv.reader([line]))[0])]
        if kept != lines:
            record.write_bytes("".join(kept).encode())


def _holds(root: Path, relative: str) -> bool:
    path = (root / relative).resolve()
    return path.is_relative_to(root) and path.exists()


def _assemble(staging: Path, dependencies: Path, sources: list[tuple[str, bytes]], compiler: str | None) -> None:
    # Hard links, not copies: every edit of the domain makes a new layer, and each would otherwise hold its own
    # 60 MB of unchanged dependencies. Nothing writes to a built folder, so sharing the files is safe.
    shutil.copytree(dependencies, staging / "python", copy_function=os.link)
    for destination, content in sources:
        target = staging / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    if compiler is not None:
        _compile(staging / "python" / "omnijourney", compiler, staging / "python")


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them: PyYAML, pyyaml and py_yaml are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def main() -> None:
    layer = build_layer()
    print(f"layer {layer.relative_to(ROOT)} ({LAMBDA_PLATFORM}, Python {LAMBDA_PYTHON}): {_mb(layer_size(layer))}")
    largest = max(check_unzipped_size(function_asset(name), layer) for name in function_names())
    print(f"largest function with the layer: {_mb(largest)} unzipped; Lambda's limit: {_mb(LAMBDA_UNZIPPED_LIMIT)}")


if __name__ == "__main__":
    main()
