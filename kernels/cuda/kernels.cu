// Grid-stride __global__ launchers over the per-item bodies in kernels/include.
//
// qiskit_cupy/devices/kernel_source.py inlines the headers above this file into one
// source string, compiled by NVRTC through cupy.RawModule with the template
// instantiations (name_expressions) that it derives from the op-kind registry in
// op_layout.cuh. Every launcher loops with 64-bit indices over num_items work items.
#include "gates.cuh"
#include "measure.cuh"
#include "state.cuh"

// The first item of this thread and the distance to its next one in a grid-stride loop.
__device__ __forceinline__ qc::uindex_t grid_first_item() {
  return static_cast<qc::uindex_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ qc::uindex_t grid_item_stride() {
  return static_cast<qc::uindex_t>(gridDim.x) * blockDim.x;
}

template <typename Body, typename T>
__global__ void qc_apply_op(qc::complex<T>* states, int num_qubits, long long num_items,
                            const long long* op, const qc::complex<T>* data) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    qc::apply_op_item<Body>(states, num_qubits, item, op, data);
  }
}

template <typename T>
__global__ void qc_set_zero_state(qc::complex<T>* states, int num_qubits, long long num_items) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) { qc::set_zero_state(states, num_qubits, item); }
}

template <typename T>
__global__ void qc_marginal_partials(const qc::complex<T>* states, int num_qubits,
                                     long long num_items, const long long* positions,
                                     const long long* sorted_positions, int num_measured,
                                     int chunk_bits, double* partials) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    partials[item] = qc::marginal_partial(states, num_qubits, item, positions, sorted_positions,
                                          num_measured, chunk_bits);
  }
}

template <typename T>
__global__ void qc_probabilities(const qc::complex<T>* states, long long num_items,
                                 double* probabilities) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    probabilities[item] = qc::probability(states, item);
  }
}

__global__ void qc_reduce_partials(const double* partials, long long num_items, int chunk_bits,
                                   double* sums) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) { sums[item] = qc::reduce_partials(partials, item, chunk_bits); }
}

__global__ void qc_sample(const double* cumulative, int num_measured, long long num_items,
                          long long shots, const unsigned long long* seeds, long long* outcomes) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    outcomes[item] = qc::sample_outcome(cumulative, num_measured, item, static_cast<qc::uindex_t>(shots), seeds);
  }
}
