"""The GPU device's kernels of dynamic circuits and noise: classical programs on the
rows, measurement draws, collapse, gathering branches, terminal draws per shot, Kraus
draws and rescaling (``trajectory_launches.py``), as a mixin of ``GpuDevice``.

Ownership is ``gpu.py``'s: arrays a method allocates belong to the stream's work (CuPy's
pool is stream-ordered) until that work is done.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from qiskit_cupy.devices import trajectory_launches
from qiskit_cupy.devices.base import ClassicalRows
from qiskit_cupy.devices.launches import Launch


class _GpuHost(Protocol):
    """What the mixin uses of ``GpuDevice``."""

    _device: Any
    _cupy: Any

    def _run(self, stream: Any, launch: Launch, precision: str) -> None: ...

    def _upload(self, stream: Any, host: np.ndarray) -> Any: ...


def precision_of(states: Any) -> str:
    """``"single"`` or ``"double"``, by the states' dtype."""
    return "single" if states.dtype == np.complex64 else "double"


class GpuTrajectoryKernels:
    """The trajectory engine's launches on a GPU (methods of ``Device``)."""

    def run_classical(
        self: _GpuHost, stream: Any, rows: ClassicalRows, code: np.ndarray, mask_slot: int
    ) -> None:
        host_code = np.ascontiguousarray(code, dtype=np.int64).reshape(-1)
        device_code = self._upload(stream, host_code if host_code.size else np.zeros(2, np.int64))
        self._run(
            stream,
            trajectory_launches.classical(rows.rows, rows.width, device_code, host_code, mask_slot),
            "double",
        )

    def decide_outcomes(
        self: _GpuHost,
        stream: Any,
        rows: ClassicalRows,
        probabilities: Any,
        seed: int,
        clbit_slot: int,
        mask_slot: int,
    ) -> None:
        self._run(
            stream,
            trajectory_launches.decide_outcomes(
                rows.rows, rows.width, probabilities.reshape(-1), seed, clbit_slot, mask_slot
            ),
            "double",
        )

    def collapse(
        self: _GpuHost,
        stream: Any,
        states: Any,
        num_qubits: int,
        batch: int,
        qubit: int,
        probabilities: Any,
        rows: ClassicalRows,
        reset: bool,
        mask_slot: int,
    ) -> None:
        precision = precision_of(states)
        self._run(
            stream,
            trajectory_launches.collapse(
                states,
                num_qubits,
                batch,
                qubit,
                probabilities.reshape(-1),
                rows.rows,
                rows.width,
                reset,
                mask_slot,
                precision,
            ),
            precision,
        )

    def choose_kraus(
        self: _GpuHost,
        stream: Any,
        states: Any,
        num_qubits: int,
        batch: int,
        rows: ClassicalRows,
        pieces: Any,
        coefficients: np.ndarray,
        index_slot: int,
        mask_slot: int,
    ) -> None:
        precision = precision_of(states)
        table = np.ascontiguousarray(coefficients, dtype=np.float64)
        num_kraus, num_pieces = table.shape[:2]
        device_table = self._upload(stream, table.reshape(-1))
        with self._device, stream:
            # Stream-ordered: the pool reuses the scales only after both launches ran.
            scales = self._cupy.empty(batch, dtype=np.float64)
        self._run(
            stream,
            trajectory_launches.choose_kraus(
                rows.rows,
                rows.width,
                pieces.reshape(-1),
                device_table,
                num_kraus,
                num_pieces,
                index_slot,
                scales,
                mask_slot,
            ),
            "double",
        )
        self._run(
            stream,
            trajectory_launches.scale_states(
                states, num_qubits, batch, scales, rows.rows, rows.width, mask_slot, precision
            ),
            precision,
        )

    def append_states(
        self: _GpuHost, stream: Any, states: Any, num_qubits: int, count: int, sources: np.ndarray
    ) -> None:
        precision = precision_of(states)
        host_sources = np.ascontiguousarray(sources, dtype=np.int64)
        device_sources = self._upload(stream, host_sources)
        source = states[: count << num_qubits]
        branches = states[count << num_qubits : (count + len(host_sources)) << num_qubits]
        self._run(
            stream,
            trajectory_launches.gather(source, branches, num_qubits, device_sources, host_sources, precision),
            precision,
        )

    def sample_shots(
        self: _GpuHost,
        stream: Any,
        cumulative: Any,
        num_measured: int,
        shot_states: np.ndarray,
        shot_numbers: np.ndarray,
        rows: ClassicalRows,
        seed: int,
        precision: str,
    ) -> Any:
        host_states = np.ascontiguousarray(shot_states, dtype=np.int64)
        states = self._upload(stream, host_states)
        numbers = self._upload(stream, np.ascontiguousarray(shot_numbers, dtype=np.int64))
        with self._device, stream:
            outcomes = self._cupy.empty(len(host_states), dtype=np.int64)
        self._run(
            stream,
            trajectory_launches.sample_shots(
                cumulative.reshape(-1),
                num_measured,
                states,
                host_states,
                numbers,
                rows.rows,
                rows.width,
                seed,
                outcomes,
            ),
            precision,
        )
        return outcomes
