"""Dense matrices wider than the kernels' dense bodies, applied through BLAS.

A k-qubit matrix on an n-qubit state is a gather, one matrix product and a scatter:
the state, viewed as a tensor with one axis per qubit, has the control axes fixed to
their values (a view), the target axes moved last and flattened into rows of 2^k
amplitudes (the gather), multiplied by the matrix's transpose (cuBLAS through CuPy on
the GPU, the CPU's BLAS through NumPy on the CPU), and written back (the scatter).
The same function serves both devices: it is given the array module.
"""

from __future__ import annotations

from typing import Any


def apply_wide_matrix(
    xp: Any,
    states: Any,
    num_qubits: int,
    batch: int,
    matrix: Any,
    targets: tuple[int, ...],
    controls: tuple[int, ...],
    control_values: int,
) -> None:
    """Apply ``matrix`` to ``targets`` of every state where the controls hold their values.

    Args:
        xp: The array module of ``states`` (NumPy or CuPy).
        states: The batch's amplitudes, ``batch * 2**num_qubits`` of them, contiguous.
        num_qubits: Width of each state.
        batch: Number of states.
        matrix: The 2^k x 2^k matrix, or one per state (shape (batch, 2^k, 2^k)), in
            the states' dtype; target j is bit j of its index.
        targets: Target qubits.
        controls: Control qubits, disjoint from the targets.
        control_values: Bit i is the value control i must hold.
    """
    tensor = states.reshape((batch,) + (2,) * num_qubits)
    index: list[Any] = [slice(None)] * (num_qubits + 1)
    for bit, control in enumerate(controls):
        index[num_qubits - control] = (control_values >> bit) & 1
    view = tensor[tuple(index)]
    remaining = [qubit for qubit in range(num_qubits - 1, -1, -1) if qubit not in controls]
    sources = [1 + remaining.index(target) for target in reversed(targets)]
    count = len(targets)
    moved = xp.moveaxis(view, sources, list(range(view.ndim - count, view.ndim)))
    rows = moved.reshape(batch, -1, 1 << count)
    product = xp.matmul(rows, xp.swapaxes(matrix, -1, -2))
    moved[...] = product.reshape(moved.shape)
