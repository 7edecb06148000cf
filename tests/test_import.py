"""`import mathnn` stays on the numeric path: numpy only, no SymPy."""

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_import_mathnn_does_not_import_sympy():
    assert _run("import mathnn, sys; print('sympy' in sys.modules)") == "False"


def test_numeric_modules_do_not_import_sympy():
    code = (
        "import sys, mathnn, mathnn.gradcheck, mathnn.kernels.sigmoid, mathnn.kernels.tanh, "
        "mathnn.kernels.relu, mathnn.kernels.leaky_relu, mathnn.cli, mathnn.experiments, mathnn.models, "
        "mathnn.layers, mathnn.experiments.cache as experiment_cache; "
        "experiment_cache.cache_dir(); print('sympy' in sys.modules)"
    )
    assert _run(code) == "False"


def test_rules_do_import_sympy():
    assert _run("import sys, mathnn.rules; print('sympy' in sys.modules)") == "True"
