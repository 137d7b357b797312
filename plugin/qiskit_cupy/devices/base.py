"""The Device interface: everything the executor asks of a GPU or of the CPU fallback.

Work is issued to streams and runs in stream order; the host learns that it finished
only through events. Arrays returned by a device live on that device and are valid to
read on the host only through :meth:`Device.copy_to_host` once an event recorded after
the copy has completed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qiskit_cupy.compiler.fusion import Roofline
from qiskit_cupy.compiler.ops import GateOp
from qiskit_cupy.compiler.program import EncodedProgram

if TYPE_CHECKING:
    from typing_extensions import Self

#: An array that lives on a device (a NumPy array on the CPU, a CuPy array on the GPU).
DeviceArray = Any

#: Complex dtype of each precision.
COMPLEX_DTYPES: dict[str, type[np.complexfloating]] = {
    "double": np.complex128,
    "single": np.complex64,
}


class Stream(Protocol):
    """An in-order queue of device work."""


class Event(Protocol):
    """A marker recorded on a stream; it completes when the stream reaches it.

    Attributes:
        error: Once done, the failure of the work before the event, if the device
            reports failures that way; None otherwise.
    """

    error: BaseException | None

    @property
    def done(self) -> bool:
        """Whether the stream has passed the event; never blocks."""

    def synchronize(self, timeout: float | None = None) -> bool:
        """Block until the event completes or ``timeout`` seconds pass.

        Args:
            timeout: Seconds to wait at most; ``None`` waits for as long as it takes.

        Returns:
            Whether the event completed.

        Raises:
            Exception: The work before the event failed; the failure is raised here.
        """

    def elapsed_since(self, start: Self) -> float:
        """Seconds of device time from ``start`` to this event; both must have completed."""


class HostCopy(Protocol):
    """A host buffer that a stream fills; readable once an event after it completes."""

    @property
    def array(self) -> np.ndarray:
        """The copied data."""


class DeviceProgram(Protocol):
    """An encoded program resident on a device."""


@dataclass(frozen=True)
class ClassicalRows:
    """The rows of int64 slots of a batch of trajectories (``kernels/include/classical.cuh``).

    Attributes:
        rows: ``batch * width`` int64 on the device, row by row.
        width: Slots per row.
    """

    rows: DeviceArray
    width: int


class Device(ABC):
    """A place to run programs: the GPU (CuPy) or the CPU fallback (the C++ extension)."""

    #: "GPU" or "CPU", as the backend's ``device`` option names it.
    name: str

    @property
    @abstractmethod
    def description(self) -> str:
        """A human-readable name of the hardware, for result metadata."""

    @abstractmethod
    def streams(self, count: int) -> Sequence[Stream]:
        """Return ``count`` streams from the device's pool (created on first use)."""

    def inline_stream(self) -> Stream | None:
        """Return a new stream whose work runs on the enqueueing thread as it is
        enqueued, private to the job that asks for it; None where the device has none.

        Only the CPU device has one: for a job whose kernels cost less than a thread
        hand-off (``runtime/host_executors.py::runs_inline``). A GPU stays asynchronous:
        its kernels are launched on a CUDA stream, and the host never waits between
        them.
        """
        return None

    @abstractmethod
    def roofline(self, precision: str) -> Roofline:
        """The device's bandwidth, flop rate and per-op cost, for the fusion cost model."""

    @abstractmethod
    def free_memory(self) -> int:
        """Bytes the device can allocate now."""

    @abstractmethod
    def close(self) -> None:
        """Release the device's host resources (threads) once queued work has run."""

    @abstractmethod
    def allocate_states(self, stream: Stream, amplitudes: int, precision: str) -> DeviceArray:
        """Return room (not initialized) for ``amplitudes`` amplitudes, used on ``stream``.

        The caller owns the buffer from here until the event after its last use; no
        other job is given it meanwhile, whatever thread or stream that job uses. Every
        other array a device method returns is owned the same way by the job whose
        work it serves. See ``docs/architecture.rst`` (ownership).
        """

    @abstractmethod
    def set_zero_state(self, stream: Stream, states: DeviceArray, num_qubits: int, batch: int) -> None:
        """Enqueue: set every state of the batch to |0...0>."""

    @abstractmethod
    def density_diagonal(
        self, stream: Stream, densities: DeviceArray, states: DeviceArray, num_qubits: int, batch: int
    ) -> None:
        """Enqueue the writing of ``batch`` n-qubit states whose probabilities are the
        diagonals of ``batch`` density matrices, each held as a 2n-qubit vector (row
        index in the low n bits): amplitude i is sqrt(max(Re rho_ii, 0))."""

    @abstractmethod
    def upload_program(self, stream: Stream, program: EncodedProgram, precision: str) -> DeviceProgram:
        """Enqueue the copy of an encoded program to the device."""

    def program_passes(self, program: EncodedProgram, num_qubits: int, batch: int, precision: str) -> int:
        """The passes over the states that :meth:`run_program` makes for ``program``:
        one per op, unless the device applies runs of ops in one pass (cache blocking)."""
        return len(program)

    @abstractmethod
    def run_program(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        program: DeviceProgram,
        condition: tuple[ClassicalRows, int] | None = None,
    ) -> None:
        """Enqueue every op of a program, in order, with no host synchronization.

        ``condition`` (rows, mask slot) limits the program to the states whose row holds
        a nonzero value in the slot; ``None`` runs it on every state.
        """

    @abstractmethod
    def apply_wide_matrix(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        op: GateOp,
    ) -> None:
        """Enqueue a WIDE_DENSE op (wider than the dense kernels) through the device's BLAS.

        ``op.data`` is the matrix, or one per state with a leading batch axis.
        """

    @abstractmethod
    def probabilities(self, stream: Stream, states: DeviceArray, num_qubits: int, batch: int) -> DeviceArray:
        """Enqueue |amplitude|^2 of every amplitude: the distribution of measuring all
        qubits in order.

        Returns:
            float64 array of shape (batch, 2**num_qubits).
        """

    @abstractmethod
    def marginal_probabilities(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        positions: tuple[int, ...],
        chunk_bits: int,
    ) -> DeviceArray:
        """Enqueue the marginal distribution of ``positions``, per state.

        Returns:
            float64 array of shape (batch, 2**len(positions)).
        """

    @abstractmethod
    def cumulative_sum(self, stream: Stream, rows: DeviceArray) -> DeviceArray:
        """Enqueue the running sum along each row (in place where the device allows it)."""

    @abstractmethod
    def sample(
        self,
        stream: Stream,
        cumulative: DeviceArray,
        num_measured: int,
        shots: int,
        seeds: np.ndarray,
        precision: str,
    ) -> DeviceArray:
        """Enqueue drawing ``shots`` outcomes from each row of ``cumulative``.

        ``precision`` is the run's: the sampler is taken from that precision's kernels,
        so a run never needs the other precision compiled.

        Returns:
            int64 array of shape (batch, shots).
        """

    @abstractmethod
    def copy_to_host(self, stream: Stream, array: DeviceArray) -> HostCopy:
        """Enqueue the copy of a device array into a new host buffer."""

    @abstractmethod
    def record_event(self, stream: Stream) -> Event:
        """Record an event on a stream after the work enqueued so far."""

    @abstractmethod
    def wait_event(self, stream: Stream, event: Event) -> None:
        """Make later work on ``stream`` wait for ``event`` (no host blocking)."""

    @abstractmethod
    def expectation_pieces(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        passes: np.ndarray,
        pieces: np.ndarray,
        chunk_bits: int,
    ) -> DeviceArray:
        """Enqueue the sums of observable pieces, for each state of the batch.

        Piece k (row k of ``pieces``: sign mask, condition mask, condition value) with
        the flip mask of its pass sums, over the amplitudes i that meet its condition,
        (-1)^parity(i & sign) conj(a_i) a_(i ^ flip); each pass (row of ``passes``:
        flip mask, first piece, piece count, the pieces covered in order) reads the
        state once (``kernels/include/expectation.cuh``). The sums run in 2**chunk_bits
        fixed chunks per state, then in order: deterministic.

        Returns:
            float64 array of shape (len(pieces), batch, 2): real and imaginary parts.
        """

    @abstractmethod
    def upload(self, stream: Stream, host: np.ndarray) -> DeviceArray:
        """Enqueue the copy of a host array into a new device array, which it returns."""

    @abstractmethod
    def run_classical(self, stream: Stream, rows: ClassicalRows, code: np.ndarray, mask_slot: int) -> None:
        """Enqueue a classical program (int64 (opcode, operand) pairs) on every row whose
        ``mask_slot`` is nonzero, or on every row when it is EVERY_STATE."""

    @abstractmethod
    def decide_outcomes(
        self,
        stream: Stream,
        rows: ClassicalRows,
        probabilities: DeviceArray,
        seed: int,
        clbit_slot: int,
        mask_slot: int,
    ) -> None:
        """Enqueue one measurement draw per active row from its state's (p0, p1).

        ``probabilities`` has shape (batch, 2). Each active row counts the draw, keeps the
        outcome in its outcome slot and, when ``clbit_slot`` >= 0, in that slot.
        """

    @abstractmethod
    def collapse(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        qubit: int,
        probabilities: DeviceArray,
        rows: ClassicalRows,
        reset: bool,
        mask_slot: int,
    ) -> None:
        """Enqueue the collapse of ``qubit`` of each active state to its row's outcome,
        renormalised; a reset then moves the qubit to |0>."""

    @abstractmethod
    def choose_kraus(
        self,
        stream: Stream,
        states: DeviceArray,
        num_qubits: int,
        batch: int,
        rows: ClassicalRows,
        pieces: DeviceArray,
        coefficients: np.ndarray,
        index_slot: int,
        mask_slot: int,
    ) -> None:
        """Enqueue, for each active state, the draw of a Kraus operator and the state's
        rescaling.

        Operator i has weight ``sum(coefficients[i] * pieces[:, state])``: ``pieces`` are
        the state's observable pieces on the channel's qubits (``expectation_pieces``,
        shape (P, batch, 2)) and ``coefficients`` (float64, shape (num_kraus, P, 2)) the
        real form of <K_i^dagger K_i> in them. Each
        active row counts the draw and keeps the chosen i in ``index_slot``; its state is
        scaled by 1/sqrt(weight of i), so that applying K_i next leaves it normalised.
        """

    @abstractmethod
    def append_states(
        self, stream: Stream, states: DeviceArray, num_qubits: int, count: int, sources: np.ndarray
    ) -> None:
        """Enqueue copies of states ``sources`` (all below ``count``) into states
        ``count``, ``count + 1``..., within the same buffer, which has room for them."""

    @abstractmethod
    def sample_shots(
        self,
        stream: Stream,
        cumulative: DeviceArray,
        num_measured: int,
        shot_states: np.ndarray,
        shot_numbers: np.ndarray,
        rows: ClassicalRows,
        seed: int,
        precision: str,
    ) -> DeviceArray:
        """Enqueue one terminal draw per shot from its state's cumulative distribution.

        Shot j belongs to state ``shot_states[j]`` and is keyed by ``shot_numbers[j]`` and
        its state's draw counter.

        Returns:
            int64 array of one outcome per shot.
        """
