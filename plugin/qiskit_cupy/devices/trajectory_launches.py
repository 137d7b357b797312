"""Kernel launches of dynamic circuits and noise, as data, checked as every launch is
(``launches.py``): classical programs on the rows, measurement draws, collapse,
gathering branches, terminal draws per shot, Kraus draws and rescaling.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qiskit_cupy import _cpu
from qiskit_cupy.devices.kernel_source import precision_kernel
from qiskit_cupy.devices.launches import Launch, checked_launch


def classical(rows: Any, width: int, code: Any, host_code: np.ndarray, mask_slot: int) -> Launch:
    """The launch of a classical program (``host_code``, on the device as ``code``)."""
    length = host_code.size // 2
    items = np.size(rows) // max(int(width), 1)

    def check_values() -> None:
        batch = _cpu.check_row_batch(rows.size, int(width))
        _cpu.check_rows(batch, rows.size, int(width), int(mask_slot))
        _cpu.check_classical(host_code.reshape(-1), int(width))

    return checked_launch(
        "qc_classical", items, "double", (rows, width, items, code, length, mask_slot), check_values
    )


def decide_outcomes(
    rows: Any, width: int, probabilities: Any, seed: int, clbit_slot: int, mask_slot: int
) -> Launch:
    """The launch that draws each active row's measurement outcome."""
    items = np.size(rows) // max(int(width), 1)

    def check_values() -> None:
        batch = _cpu.check_row_batch(rows.size, int(width))
        _cpu.check_rows(batch, rows.size, int(width), int(mask_slot))
        _cpu.check_rows(batch, rows.size, int(width), int(clbit_slot))
        if probabilities.size != 2 * batch:
            raise ValueError("probabilities must have 2 * batch entries")

    return checked_launch(
        "qc_decide_outcomes",
        items,
        "double",
        (rows, width, items, probabilities, seed, clbit_slot, mask_slot),
        check_values,
    )


def collapse(
    states: Any,
    num_qubits: int,
    batch: int,
    qubit: int,
    probabilities: Any,
    rows: Any,
    width: int,
    reset: bool,
    mask_slot: int,
    precision: str,
) -> Launch:
    """The launch that collapses (or resets) one qubit of each active state."""
    items = batch << max(num_qubits - 1, 0)

    def check_values() -> None:
        _cpu.check_collapse(
            int(num_qubits), int(batch), states.size, int(qubit), probabilities.size, rows.size, int(width)
        )
        _cpu.check_rows(int(batch), rows.size, int(width), int(mask_slot))

    return checked_launch(
        precision_kernel("qc_collapse", precision),
        items,
        precision,
        (states, num_qubits, items, qubit, probabilities, rows, width, int(reset), mask_slot),
        check_values,
    )


def choose_kraus(
    rows: Any,
    width: int,
    pieces: Any,
    coefficients: Any,
    num_kraus: int,
    num_pieces: int,
    index_slot: int,
    scales: Any,
    mask_slot: int,
) -> Launch:
    """The launch that draws each active row's Kraus operator and its state's scale."""
    items = np.size(rows) // max(int(width), 1)

    def check_values() -> None:
        _cpu.check_choose_kraus(
            rows.size,
            int(width),
            pieces.size,
            coefficients.size,
            int(num_kraus),
            int(num_pieces),
            int(index_slot),
            scales.size,
        )
        _cpu.check_rows(items, rows.size, int(width), int(mask_slot))

    return checked_launch(
        "qc_choose_kraus",
        items,
        "double",
        (rows, width, items, pieces, coefficients, num_kraus, num_pieces, index_slot, scales, mask_slot),
        check_values,
    )


def scale_states(
    states: Any,
    num_qubits: int,
    batch: int,
    scales: Any,
    rows: Any,
    width: int,
    mask_slot: int,
    precision: str,
) -> Launch:
    """The launch that scales each active state by its factor."""
    items = np.size(states)

    def check_values() -> None:
        _cpu.check_scale_states(int(num_qubits), int(batch), states.size, scales.size)
        _cpu.check_rows(int(batch), rows.size, int(width), int(mask_slot))

    return checked_launch(
        precision_kernel("qc_scale_states", precision),
        items,
        precision,
        (states, num_qubits, items, scales, rows, width, mask_slot),
        check_values,
    )


def gather(
    source: Any, branches: Any, num_qubits: int, sources: Any, host_sources: np.ndarray, precision: str
) -> Launch:
    """The launch that copies state ``host_sources[j]`` of ``source`` to branch j."""
    items = np.size(branches)
    return checked_launch(
        precision_kernel("qc_gather", precision),
        items,
        precision,
        (source, branches, num_qubits, items, sources),
        lambda: _cpu.check_gather(int(num_qubits), source.size, branches.size, host_sources),
    )


def sample_shots(
    cumulative: Any,
    num_measured: int,
    shot_states: Any,
    host_states: np.ndarray,
    shot_numbers: Any,
    rows: Any,
    width: int,
    seed: int,
    outcomes: Any,
) -> Launch:
    """The launch that draws each shot's terminal outcome from its state's distribution."""
    items = np.size(outcomes)
    return checked_launch(
        "qc_sample_shots",
        items,
        "double",
        (cumulative, num_measured, items, shot_states, shot_numbers, rows, width, seed, outcomes),
        lambda: _cpu.check_sample_shots(
            int(num_measured),
            cumulative.size,
            host_states,
            shot_numbers.size,
            rows.size,
            int(width),
            outcomes.size,
        ),
    )
