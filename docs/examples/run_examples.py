"""Run each guide program whose library is installed: python docs/examples/run_examples.py.

Exit status 1 if any program fails; a program whose library is missing is skipped.
"""

import importlib.util
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAMS = {
    "numpy_evaluation.py": "numpy",
    "jax_training.py": "jax",
    "torch_training.py": "torch",
    "dask_evaluation.py": "dask",
    "cupy_evaluation.py": "cupy",
}


def main(names: list[str]) -> int:
    failed = []
    for program, module in PROGRAMS.items():
        if names and program not in names:
            continue
        if importlib.util.find_spec(module) is None:
            print(f"SKIP {program}: {module} is not installed")
            continue
        print(f"RUN  {program}")
        try:
            runpy.run_path(str(HERE / program), run_name="__main__")
        except Exception as exc:  # report and go on
            print(f"FAIL {program}: {exc!r}")
            failed.append(program)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
