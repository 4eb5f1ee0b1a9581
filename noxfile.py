"""Test sessions: one per backend of the matrix, plus parity, lint, typecheck, docs, bench.

``nox`` alone runs every session (``tests-cupy`` skips itself without a GPU).
torch is pinned to 2.13.0: pip finds that CPU wheel on this project's machines,
while an unpinned torch would pull a multi-GB CUDA build.
"""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

TORCH = "torch==2.13.0"
JAX = "jax>=0.4.30"
DASK = "dask[array]>=2024.8"
DISTRIBUTED = "distributed>=2024.8"
PARITY_PEERS = ("scikit-learn>=1.5", "optax>=0.2.4", "monai>=1.4", "keras>=3.7,<3.16", "kornia>=0.9")
PYTEST = ("python", "-m", "pytest", "-p", "no:cacheprovider")


def _install(session: nox.Session, *packages: str) -> None:
    # torch first, alone and pinned, so that nothing later can ask pip for a newer build
    if TORCH in packages:
        session.install(TORCH)
    session.install("-e", ".[test]", *(p for p in packages if p != TORCH))


def _matrix(session: nox.Session, backends: str, *extra: str) -> None:
    session.run(*PYTEST, "-m", "not parity", "--backends", backends, *extra, *session.posargs)


@nox.session(name="tests-numpy")
def tests_numpy(session: nox.Session) -> None:
    """NumPy column, the import-isolation tests and every docstring example (doctests)."""
    _install(session)
    _matrix(session, "numpy")
    # the native modules import their backend at module level: imported only when needed
    session.run(*PYTEST, "--doctest-modules", "src/polyloss", "-q",
                # the backend modules, imported only once their backend is
                *(f"--ignore=src/polyloss/{layer}/_{b}.py" for layer in ("_array", "_native")
                  for b in ("torch", "jax", "numpy")))


@nox.session(name="tests-strict")
def tests_strict(session: nox.Session) -> None:
    """array-api-strict column: proves the code uses only the standard, on two devices."""
    _install(session)
    _matrix(session, "strict")


@nox.session(name="tests-torch")
def tests_torch(session: nox.Session) -> None:
    """torch float32/float64, autograd, torch.compile(fullgraph=True), distributed (gloo)."""
    _install(session, TORCH)
    _matrix(session, "torch")


@nox.session(name="tests-jax")
def tests_jax(session: nox.Session) -> None:
    """JAX with x64 on: jit, grad, vmap, sharding over 8 host devices."""
    _install(session, JAX)
    _matrix(session, "jax")


@nox.session(name="tests-jax-x32")
def tests_jax_x32(session: nox.Session) -> None:
    """JAX with x64 off (the default JAX users have), in its own process."""
    _install(session, JAX)
    session.env["POLYLOSS_JAX_X64"] = "0"
    _matrix(session, "jax")


@nox.session(name="tests-dask")
def tests_dask(session: nox.Session) -> None:
    """Dask: lazy, chunked evaluation (nothing computed inside polyloss), and a
    distributed LocalCluster of worker processes."""
    _install(session, DASK, DISTRIBUTED)
    _matrix(session, "dask")


@nox.session(name="tests-cupy")
def tests_cupy(session: nox.Session) -> None:
    """CuPy (and torch on CUDA) where a GPU exists; skips cleanly elsewhere."""
    if shutil.which("nvidia-smi") is None and not os.path.exists("/dev/nvidia0"):
        session.skip("no CUDA GPU on this machine: CuPy cannot run here")
    # one CuPy wheel per CUDA major version: POLYLOSS_CUPY=cupy-cuda12x for a CUDA 12 driver
    _install(session, os.environ.get("POLYLOSS_CUPY", "cupy-cuda13x"))
    _matrix(session, "cupy")


@nox.session
def parity(session: nox.Session) -> None:
    """Every loss against its peer: torch.nn.functional, optax, scikit-learn, MONAI, the
    reference article's code and torchvision's formula; then the CLI self-check."""
    _install(session, TORCH, JAX, DASK, *PARITY_PEERS)
    # the autodiff backends against the peers, values and gradients; array-api-strict and
    # Dask equal float64 NumPy in the backend matrix, so they are not run against peers again
    session.run(*PYTEST, "-m", "parity", "--backends", "numpy,torch,jax", *session.posargs)
    # the JAX column once more with x64 off: the precision most JAX users train in
    session.run(*PYTEST, "-m", "parity", "--backends", "jax", *session.posargs, env={"POLYLOSS_JAX_X64": "0"})
    session.run("python", "-m", "polyloss")


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "benchmarks", "docs", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("mypy>=1.10", "-e", ".")
    session.run("mypy", "src/polyloss")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site with warnings as errors (NumPy only: numbers are computed at build),
    then run the doctests of its guides."""
    session.install("-e", ".[docs]", "numpy")
    for builder in ("html", "doctest"):
        session.run("python", "-m", "sphinx", "-W", "--keep-going", "-b", builder, "docs", f"docs/_build/{builder}")


@nox.session
def bench(session: nox.Session) -> None:
    """Side-by-side timings against the native peers (ratios; see benchmarks/)."""
    _install(session, TORCH, JAX, *PARITY_PEERS)
    session.run("python", "benchmarks/run.py", *(session.posargs or ["--quick"]))


@nox.session
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel, check them with twine, then install the wheel in a
    fresh virtualenv and import it (it must carry py.typed and nothing of tests/)."""
    session.install("build>=1.2", "twine>=5")
    dist = os.path.join(session.create_tmp(), "dist")
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", dist, silent=True)
    wheels = [f for f in os.listdir(dist) if f.endswith(".whl")]
    session.run("twine", "check", "--strict", *(os.path.join(dist, f) for f in os.listdir(dist)))
    session.run("python", "-c", _CHECK_WHEEL, os.path.join(dist, wheels[0]))
    venv = os.path.join(dist, "fresh-venv")
    session.run("python", "-m", "venv", venv)
    python = os.path.join(venv, "bin", "python")
    session.run(python, "-m", "pip", "install", "--quiet", os.path.join(dist, wheels[0]), external=True)
    session.run(python, "-c", "import polyloss, sys; print('polyloss', polyloss.__version__, len(polyloss.REGISTRY), 'losses'); "
                "sys.exit(any(m in sys.modules for m in ('numpy', 'torch', 'jax')))", external=True)


_CHECK_WHEEL = """
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert "polyloss/py.typed" in names, "the wheel lacks polyloss/py.typed"
assert not [n for n in names if n.startswith("tests/")], "the wheel carries tests/"
print(len(names), "files in the wheel; py.typed present; no tests/")
"""
