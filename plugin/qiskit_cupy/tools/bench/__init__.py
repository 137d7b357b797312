"""The ``qiskit-cupy bench`` benchmark: qiskit-cupy against its peers, side by side.

The same transpiled circuits (QFT, a qsim-style random circuit, a hardware-efficient
ansatz, GHZ) run on every simulator asked for: qiskit-cupy on the GPU (only where one is
usable) and on the CPU fallback, Qiskit Aer and qsim where they are installed. Each time
is set against the limit that the memory bandwidth, measured in the same process, puts
on it; beside the GPU column stands a bandwidth *model* of an H100, never a measurement.

Everything here is a library: :func:`run_benchmark` measures and returns a
:class:`BenchReport`; the ``write_*`` functions and :func:`table` present it. Its
modules, each importing only those listed before it:

- :mod:`~qiskit_cupy.tools.bench.circuits`: the benchmark circuits, the ``--qubits``
  widths, and the conversion to cirq;
- :mod:`~qiskit_cupy.tools.bench.peers`: the simulators compared, their settings, timers
  and reasons for not running;
- :mod:`~qiskit_cupy.tools.bench.machine`: the memory bandwidth measurement and the
  machine's description;
- :mod:`~qiskit_cupy.tools.bench.measurement`: what to benchmark, the timing of each
  setting, the report, and the figures derived from it (bandwidth limit, H100 model);
- :mod:`~qiskit_cupy.tools.bench.report`: the table, its notes, and the CSV, JSON, plot
  and Markdown outputs.
"""

from qiskit_cupy.tools.bench.circuits import (
    BASIS_GATES,
    CIRCUITS,
    DEFAULT_CIRCUITS,
    DYNAMIC_CIRCUITS,
    HEA_LAYERS,
    SEED,
    benchmark_circuit,
    format_qubits,
    ghz_circuit,
    hea_circuit,
    measured_clbit_qubits,
    midcircuit_circuit,
    parse_qubits,
    qft_circuit,
    random_circuit,
    repetition_code_circuit,
    to_cirq,
)
from qiskit_cupy.tools.bench.machine import (
    BANDWIDTH_BYTES,
    BANDWIDTH_REPEATS,
    Bandwidth,
    Machine,
    describe_machine,
    measure_bandwidth,
    peak_memory_of,
)
from qiskit_cupy.tools.bench.measurement import (
    AMPLITUDE_BYTES,
    H100_BANDWIDTH,
    PRUNE_FACTOR,
    PRUNE_MIN_SECONDS,
    BenchConfig,
    BenchReport,
    Measurement,
    derived_rows,
    measure,
    pass_seconds,
    run_benchmark,
    state_bytes,
)
from qiskit_cupy.tools.bench.peers import (
    SIMULATORS,
    Prepare,
    Run,
    RunOutput,
    Setting,
    Simulator,
    Timer,
    cuda_event_time,
    wall_time,
)
from qiskit_cupy.tools.bench.report import (
    markdown_table,
    notes,
    plot_unavailable_reason,
    table,
    write_csv,
    write_json,
    write_markdown,
    write_plot,
)

__all__ = [
    "AMPLITUDE_BYTES",
    "BANDWIDTH_BYTES",
    "BANDWIDTH_REPEATS",
    "BASIS_GATES",
    "CIRCUITS",
    "DEFAULT_CIRCUITS",
    "DYNAMIC_CIRCUITS",
    "H100_BANDWIDTH",
    "HEA_LAYERS",
    "PRUNE_FACTOR",
    "PRUNE_MIN_SECONDS",
    "SEED",
    "SIMULATORS",
    "Bandwidth",
    "BenchConfig",
    "BenchReport",
    "Machine",
    "Measurement",
    "Prepare",
    "Run",
    "RunOutput",
    "Setting",
    "Simulator",
    "Timer",
    "benchmark_circuit",
    "cuda_event_time",
    "derived_rows",
    "describe_machine",
    "format_qubits",
    "ghz_circuit",
    "hea_circuit",
    "markdown_table",
    "measure",
    "measure_bandwidth",
    "peak_memory_of",
    "measured_clbit_qubits",
    "midcircuit_circuit",
    "notes",
    "parse_qubits",
    "pass_seconds",
    "plot_unavailable_reason",
    "qft_circuit",
    "random_circuit",
    "repetition_code_circuit",
    "run_benchmark",
    "state_bytes",
    "table",
    "to_cirq",
    "wall_time",
    "write_csv",
    "write_json",
    "write_markdown",
    "write_plot",
]
