"""qiskit-cupy: a Qiskit provider that simulates circuits on NVIDIA GPUs through CuPy."""
