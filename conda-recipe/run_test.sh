#!/usr/bin/env bash
# conda-build runs this script in the test environment after the package is installed
# (alongside test/imports and test/commands in meta.yaml). The build machine has no GPU,
# so the backend is asked for the CPU fallback. CI runs this script in the pip
# environment too (tests/test_conda_recipe.py).
set -euo pipefail

python - <<'PY'
from importlib.metadata import entry_points

import qiskit_cupy
from qiskit import QuantumCircuit
from qiskit_cupy import CupySimulator
from qiskit_cupy.provider import CupyProvider

# The provider is registered under the qiskit.providers entry point "cupy".
found = {entry.name: entry for entry in entry_points(group="qiskit.providers")}
assert "cupy" in found, f"no 'cupy' provider entry point; found {sorted(found)}"
assert found["cupy"].value == "qiskit_cupy.provider:CupyProvider", found["cupy"].value
assert found["cupy"].load() is CupyProvider

# The console script's entry point.
scripts = {entry.name: entry.value for entry in entry_points(group="console_scripts")}
assert scripts.get("qiskit-cupy") == "qiskit_cupy.tools.cli:main", scripts.get("qiskit-cupy")

# A GHZ circuit on the CPU fallback: only all-zeros and all-ones can come out.
ghz = QuantumCircuit(3)
ghz.h(0)
ghz.cx(0, 1)
ghz.cx(1, 2)
ghz.measure_all()
backend = CupyProvider().get_backend("cupy_simulator", device="CPU")
counts = backend.run(ghz, shots=1000, seed_simulator=7).result().get_counts()
assert set(counts) == {"000", "111"}, counts
assert sum(counts.values()) == 1000, counts
print(f"qiskit-cupy {qiskit_cupy.__version__}: entry point OK, GHZ on the CPU: {counts}")
PY
