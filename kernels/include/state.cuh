// Per-item body that prepares states.
#pragma once

#include "portable.cuh"

namespace qc {

// Amplitude `item` of a batch of states, each 2^num_qubits long, set to |0...0>.
template <typename T>
QC_HD void set_zero_state(complex<T>* states, int num_qubits, uindex_t item) {
  const bool is_first = (item & ((uindex_t{1} << num_qubits) - 1)) == 0;
  states[item] = complex<T>{is_first ? T(1) : T(0), T(0)};
}

}  // namespace qc
