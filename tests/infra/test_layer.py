"""The core layer as Lambda loads it: every handler imports with only the layer and its own asset on sys.path.

The layer is built for this machine's interpreter and platform with the same recipe as the arm64 one, and each
check runs in a fresh interpreter that sees no site-packages and no project install, so a dependency missing from
`[project] dependencies` fails here and not in AWS.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from infra import packaging
from infra.packaging import (
    HOST_PLATFORM,
    HOST_PYTHON,
    LAMBDA_UNZIPPED_LIMIT,
    build_layer,
    check_unzipped_size,
    function_asset,
    function_names,
    layer_size,
)

# Imported by the domain only for local runs and simulations (moto and its JSONPath parser) and for SVG diagrams in
# the CLI: none of them runs in Lambda, so none is a runtime dependency.
NOT_IN_LAMBDA = frozenset({"moto", "jsonpath_ng", "grandalf"})


@pytest.fixture(scope="module")
def host_layer() -> Path:
    return build_layer(platform=HOST_PLATFORM, python_version=HOST_PYTHON)


def run_isolated(
    code: str, *path: Path, layer: Path | None = None, layer_bytecode: bool = False
) -> subprocess.CompletedProcess[str]:
    """`code` in a new interpreter whose sys.path is the standard library and `path`, in Lambda's environment.

    -I ignores PYTHON* variables, the user site and the current folder; -S leaves out site-packages (and with it
    the editable install of omnijourney). Bytecode goes to build/pycache, not into the layer or the asset, whose
    bytes are their CDK asset hash; with `layer_bytecode` it is read from beside the sources and never written,
    as on Lambda's read-only /opt.
    """
    environment = {"AWS_DEFAULT_REGION": "eu-west-1", "POWERTOOLS_SERVICE_NAME": "omnijourney-layer-test"}
    if layer is not None:
        environment["OMNIJOURNEY_CONFIG_DIR"] = str(layer / "omnijourney" / "config")
        environment["OMNIJOURNEY_JOURNEYS_DIR"] = str(layer / "omnijourney" / "journeys")
    prelude = f"import sys\nsys.path[:0] = {[str(folder) for folder in path]!r}\n"
    return subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            *(["-B"] if layer_bytecode else ["-X", f"pycache_prefix={packaging.BUILD / 'pycache'}"]),
            "-c",
            prelude + code,
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_isolated_interpreter_sees_no_installed_package() -> None:
    result = run_isolated("import pydantic")
    assert result.returncode != 0
    assert "No module named 'pydantic'" in result.stderr


@pytest.mark.parametrize("name", function_names())
def test_the_handler_imports_with_only_the_layer_and_its_asset(host_layer: Path, name: str) -> None:
    asset = function_asset(name)
    code = (
        "import handler, omnijourney\n"
        "assert callable(handler.lambda_handler)\n"
        "print(handler.__file__)\n"
        "print(omnijourney.__file__)\n"
    )
    result = run_isolated(code, host_layer / "python", asset, layer=host_layer)
    assert result.returncode == 0, result.stderr
    handler_file, package_file = result.stdout.splitlines()
    assert Path(handler_file) == asset / "handler.py"
    assert Path(package_file).is_relative_to(host_layer / "python")
    assert [entry.name for entry in asset.iterdir()] == ["handler.py"]


@pytest.mark.parametrize("name", function_names())
def test_a_cold_start_compiles_only_the_handler_and_tracebacks_name_the_layer_in_opt(
    host_layer: Path, name: str
) -> None:
    """Lambda's /opt is read-only: a module of the layer without its bytecode would be compiled at every cold start."""
    asset = function_asset(name)
    code = (
        "import importlib._bootstrap_external as external\n"
        "compiled = []\n"
        "to_code = external.SourceLoader.source_to_code\n"
        "def recording(loader, data, path, *args, **kwargs):\n"
        "    compiled.append(path)\n"
        "    return to_code(loader, data, path, *args, **kwargs)\n"
        "external.SourceLoader.source_to_code = recording\n"
        "import handler\n"
        "print(*compiled, sep='\\n')\n"
    )
    result = run_isolated(code, host_layer / "python", asset, layer=host_layer, layer_bytecode=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(asset / "handler.py")]


def test_the_bytecode_holds_no_path_of_the_building_machine(host_layer: Path) -> None:
    """Its bytes are part of the layer's asset hash: they must not depend on where the layer was built."""
    bytecode = list((host_layer / "python").rglob("*.pyc"))
    assert len(bytecode) >= len(list((host_layer / "python").rglob("*.py")))
    built_in = [str(packaging.ROOT).encode()]  # the layer is staged in build/ and renamed into place
    assert [file for file in bytecode if any(path in file.read_bytes() for path in built_in)] == []


def test_the_shared_definitions_load_from_the_layer(host_layer: Path) -> None:
    code = (
        "from omnijourney.app import config\n"
        "config.lifecycle(), config.consistency(), config.products()\n"
        "print(config.config_dir())\n"
        "print(len(config.journeys().journeys))\n"
    )
    result = run_isolated(code, host_layer / "python", layer=host_layer)
    assert result.returncode == 0, result.stderr
    config_dir, journey_count = result.stdout.splitlines()
    assert Path(config_dir) == host_layer / "omnijourney" / "config"
    assert int(journey_count) == len(list(packaging.ROOT.joinpath("journeys").glob("*.yaml")))


def test_the_daily_audit_finds_its_statements_in_the_layer_ready_for_athena(host_layer: Path) -> None:
    """metrics/*.sql composed and rendered for Athena at build time: the layer has no sqlglot to do it."""
    import sqlglot

    from omnijourney.analytics.athena import AUDIT_METRICS, statement_for_day

    for metric in AUDIT_METRICS:
        shipped = (host_layer / "omnijourney" / "metrics" / f"{metric}.sql").read_text(encoding="utf-8")
        statement = statement_for_day(shipped, date(2026, 3, 14))
        assert "'2026-03-14 00:00:00'" in statement
        assert "'2026-03-15 00:00:00'" in statement
        assert sqlglot.parse_one(statement, read="trino").find(sqlglot.exp.Table, bfs=False) is not None


def test_every_library_the_domain_imports_is_in_the_layer(host_layer: Path) -> None:
    """Imports inside functions (phonenumbers, the idempotency and parameters utilities) are not run by importing a
    handler; each one is imported here."""
    modules = sorted(
        {
            module
            for module in imported_modules(host_layer / "python" / "omnijourney")
            if module.split(".")[0] not in {*sys.stdlib_module_names, "omnijourney", *NOT_IN_LAMBDA}
        }
    )
    assert "phonenumbers" in modules
    result = run_isolated(
        f"import importlib\nfor module in {modules!r}: importlib.import_module(module)",
        host_layer / "python",
        layer=host_layer,
    )
    assert result.returncode == 0, result.stderr


def test_a_rebuild_with_the_same_inputs_returns_the_cached_layer(
    host_layer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran for a cached layer")

    monkeypatch.setattr(subprocess, "run", no_pip)
    assert build_layer(platform=HOST_PLATFORM, python_version=HOST_PYTHON) == host_layer


def test_the_arm64_layer_fits_lambdas_size_limit() -> None:
    layer = build_layer()
    assert list(layer.glob("python/pydantic_core/*aarch64-linux-gnu.so")), "built for Lambda's arm64, not this machine"
    # check_unzipped_size raises PackageTooLarge for a function that Lambda would refuse.
    largest = max(check_unzipped_size(function_asset(name), layer) for name in function_names())
    print(
        f"arm64 layer {layer.relative_to(packaging.ROOT)}: {layer_size(layer) / 2**20:.1f} MB unzipped; "
        f"largest function with it {largest / 2**20:.1f} MB of Lambda's {LAMBDA_UNZIPPED_LIMIT / 2**20:.0f} MB"
    )


def imported_modules(package: Path) -> set[str]:
    """Every absolute module an `import` or `from … import` names anywhere in `package`, inside functions too."""
    modules: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_bytes())):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module)
    return modules


def test_the_layer_ships_no_tooling(host_layer: Path) -> None:
    """The CLI, the local backend, the simulation, serve and the diagrams live in omnijourney_tools, which the layer
    build does not copy; the handlers import with the layer alone (the test above imports each one)."""
    python = host_layer / "python"
    top_level = {entry.name.removesuffix(".py") for entry in python.iterdir() if not entry.name.endswith(".dist-info")}
    assert "omnijourney" in top_level
    assert "omnijourney_tools" not in top_level
    package = python / "omnijourney"
    shipped = {".".join(source.relative_to(package).with_suffix("").parts) for source in package.rglob("*.py")}
    tooling = {"cli", "local", "simulation", "serve", "journeys.commands", "journeys.diagram"}
    assert {
        module
        for module in shipped
        if module.split(".__init__")[0] in tooling or module.startswith(("simulation.", "serve."))
    } == set()
    assert imported_modules(package) & {"omnijourney_tools", "moto", "grandalf", "jsonpath_ng"} == set()
