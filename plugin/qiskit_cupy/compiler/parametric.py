"""Gate matrices for many parameter values at once.

A parametric gate's matrix entries are trigonometric polynomials of its parameters
with frequencies in {-1, -1/2, 0, 1/2, 1} per parameter (rotations use half angles,
phases whole ones). A :class:`MatrixFamily` fits those coefficients once per gate kind
from the gate's own ``to_matrix`` and checks the fit on fresh points; evaluating it for
a whole batch of parameter values is then one matrix product. Parameter expressions are
evaluated for the whole batch in the same spirit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from qiskit.circuit import Gate, Parameter, ParameterExpression

from qiskit_cupy.compiler.cache import BoundedCache
from qiskit_cupy.errors import InvalidCircuitError, UnsupportedInstructionError

#: Frequencies of each parameter's basis functions exp(i f x).
_FREQUENCIES = np.arange(-2, 3) / 2.0

#: Largest fit residual accepted.
_FIT_TOLERANCE = 1e-9


def _basis(values: np.ndarray) -> np.ndarray:
    """Products of exp(i f x_p) over parameters: shape (points, 5**parameters)."""
    points, count = values.shape
    basis = np.ones((points, 1), dtype=complex)
    for index in range(count):
        waves = np.exp(1j * values[:, index : index + 1] * _FREQUENCIES[None, :])
        basis = (basis[:, :, None] * waves[:, None, :]).reshape(points, -1)
    return basis


def _with_parameters(gate: Gate, values: Sequence[float]) -> np.ndarray:
    copy = gate.copy()
    copy.params = [float(value) for value in values]
    return np.asarray(copy.to_matrix(), dtype=complex)


class MatrixFamily:
    """The matrix of one gate kind as a function of its parameters.

    Args:
        gate: A gate of the kind (its parameter values are ignored).

    Raises:
        UnsupportedInstructionError: The gate's matrix is not such a polynomial.
    """

    def __init__(self, gate: Gate) -> None:
        count = len(gate.params)
        rng = np.random.default_rng(20251123)
        samples = rng.uniform(-2 * np.pi, 2 * np.pi, size=(5**count + 8, count))
        checks = rng.uniform(-2 * np.pi, 2 * np.pi, size=(8, count))
        matrices = np.array([_with_parameters(gate, point).ravel() for point in samples])
        self.shape = _with_parameters(gate, samples[0]).shape
        self.coefficients = np.linalg.lstsq(_basis(samples), matrices, rcond=None)[0]
        expected = np.array([_with_parameters(gate, point).ravel() for point in checks])
        if np.abs(_basis(checks) @ self.coefficients - expected).max() > _FIT_TOLERANCE:
            raise UnsupportedInstructionError(
                f"the matrix of '{gate.name}' is not a trigonometric polynomial of its "
                "parameters; bind the circuit's parameters before running it"
            )

    def flat_matrices(self, values: np.ndarray) -> np.ndarray:
        """Evaluate the flattened matrix for each row of parameter values.

        Args:
            values: Shape (batch, number of parameters).

        Returns:
            Shape (batch, matrix entries).

        The sums run over the basis in order, in separate real multiplications and
        additions (a matrix product rounds by the shape of its operands): a row's
        matrix does not depend on the batch it is evaluated in.
        """
        basis = _basis(values)
        real = np.zeros((len(values), self.coefficients.shape[1]))
        imag = np.zeros_like(real)
        for term, coefficients in zip(basis.T, self.coefficients):
            a, b = term.real[:, None], term.imag[:, None]
            c, d = coefficients.real[None, :], coefficients.imag[None, :]
            real += a * c - b * d
            imag += a * d + b * c
        return real + 1j * imag


#: Fitted families by gate kind.
_FAMILIES: BoundedCache[tuple[object, ...], MatrixFamily] = BoundedCache(1024)


def matrix_family(gate: Gate) -> MatrixFamily:
    """Return the (cached) family of a gate's kind: its class, name, width and control state."""
    key = (type(gate), gate.name, gate.num_qubits, getattr(gate, "ctrl_state", None))
    return _FAMILIES.get(key, lambda: MatrixFamily(gate))


def evaluate_expressions(
    expressions: Sequence[ParameterExpression | float], bindings: Mapping[Parameter, np.ndarray], batch: int
) -> np.ndarray:
    """Evaluate gate parameters for every entry of a batch.

    Args:
        expressions: Each parameter: a number, a Parameter or a ParameterExpression.
        bindings: Each circuit parameter's values, one per batch entry.
        batch: The number of entries.

    Returns:
        float64 array of shape (batch, len(expressions)).

    Raises:
        InvalidCircuitError: An expression is not real and finite for some entry.
    """
    values = np.empty((batch, len(expressions)))
    for column, expression in enumerate(expressions):
        if isinstance(expression, Parameter):
            values[:, column] = bindings[expression]
        elif isinstance(expression, ParameterExpression) and expression.parameters:
            values[:, column] = _evaluate(expression, bindings, batch)
        else:
            values[:, column] = float(expression)
    return values


def _evaluate(
    expression: ParameterExpression, bindings: Mapping[Parameter, np.ndarray], batch: int
) -> np.ndarray:
    """Evaluate one expression per batch entry with Qiskit's own evaluator.

    Raises:
        InvalidCircuitError: The expression is complex or not finite for some entry.
    """
    parameters = list(expression.parameters)
    columns = [bindings[parameter] for parameter in parameters]
    results = np.array(
        [
            complex(expression.bind_all({p: float(c[entry]) for p, c in zip(parameters, columns)}))
            for entry in range(batch)
        ]
    )
    bad = ~np.isfinite(results) | (np.abs(results.imag) > _IMAGINARY_TOLERANCE)
    if bad.any():
        entry = int(np.flatnonzero(bad)[0])
        raise InvalidCircuitError(
            f"gate parameter {expression} is {results[entry]} for binding {entry}; gate "
            "parameters must be real and finite"
        )
    return results.real


#: Largest imaginary part of an evaluated gate parameter taken as rounding error.
_IMAGINARY_TOLERANCE = 1e-12
