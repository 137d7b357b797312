"""``python -m qiskit_cupy``: the ``qiskit-cupy`` command line."""

from qiskit_cupy.cli import main

raise SystemExit(main())
