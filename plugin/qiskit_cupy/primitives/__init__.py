"""Native V2 primitives: an estimator of exact expectation values on the device, and a
sampler on the backend's shot engine (static circuits and dynamic ones alike)."""

from qiskit_cupy.primitives.estimator import EstimatorOptions, EstimatorV2
from qiskit_cupy.primitives.job import CupyPrimitiveJob
from qiskit_cupy.primitives.sampler import SamplerOptions, SamplerV2

__all__ = ["CupyPrimitiveJob", "EstimatorOptions", "EstimatorV2", "SamplerOptions", "SamplerV2"]
