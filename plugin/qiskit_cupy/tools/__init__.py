"""Tools behind the qiskit-cupy command: the CLI, the offline NVRTC check, the benchmark."""
