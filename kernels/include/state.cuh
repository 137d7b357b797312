// Per-item bodies that prepare states.
#pragma once

#include "portable.cuh"

namespace qc {

// Amplitude `item` of a batch of states, each 2^num_qubits long, set to |0...0>.
template <typename T>
QC_HD void set_zero_state(complex<T>* states, int num_qubits, uindex_t item) {
  const bool is_first = (item & ((uindex_t{1} << num_qubits) - 1)) == 0;
  states[item] = complex<T>{is_first ? T(1) : T(0), T(0)};
}

// Amplitude `item` of a batch of n-qubit states whose probabilities are the diagonals of
// density matrices, each held as a 2n-qubit vector (row index in the low n bits, column
// index in the high n): sqrt(max(Re rho_ii, 0)), so that |amplitude|^2 is rho_ii and the
// states' samplers draw from the density matrices.
template <typename T>
QC_HD void density_diagonal(const complex<T>* densities, complex<T>* states, int num_qubits, uindex_t item) {
  const uindex_t entry = item >> num_qubits;
  const uindex_t row = item & ((uindex_t{1} << num_qubits) - 1);
  const T real = densities[(entry << (2 * num_qubits)) | (row << num_qubits) | row].re;
  states[item] = complex<T>{static_cast<T>(square_root(real > T(0) ? static_cast<double>(real) : 0.0)), T(0)};
}

}  // namespace qc
