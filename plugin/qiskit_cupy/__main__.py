"""``python -m qiskit_cupy``: the ``qiskit-cupy`` command line."""

from qiskit_cupy.tools.cli import main

raise SystemExit(main())
