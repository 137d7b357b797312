// Grid-stride __global__ launchers over the per-item bodies in kernels/include.
//
// Kernels that run under a classical condition take the rows of slots of the batch
// (classical.cuh), their width and the mask slot; a mask slot below 0 means every
// state, and the rows may then be any one-element array.
//
// qiskit_cupy/devices/kernel_source.py inlines the headers above this file into one
// source string, compiled by NVRTC through cupy.RawModule with the template
// instantiations (name_expressions) that it derives from the op-kind registry in
// op_layout.cuh. Every launcher loops with 64-bit indices over num_items work items.
#include "classical.cuh"
#include "dynamic.cuh"
#include "expectation.cuh"
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
                            const long long* op, const qc::complex<T>* data,
                            const long long* rows, long long row_width, long long mask_slot) {
  const qc::ActiveMask mask{rows, row_width, mask_slot};
  const int free_bits = num_qubits - static_cast<int>(op[qc::op::kNumSorted]);
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    if (mask.active(item >> free_bits)) {
      qc::apply_op_item<Body>(states, num_qubits, item, op, data);
    }
  }
}

// The items of one op of a blocked run, over the block's copy in shared memory: a state
// of BlockBits qubits, whose items the threads of the CUDA block share out in a
// block-stride loop, each through the op's per-item body (as qc_apply_op runs it).
// `data` is the program's data for the state's batch entry.
template <typename T, int BlockBits>
struct BlockedOpItems {
  qc::complex<T>* block;
  const long long* op;
  const qc::complex<T>* data;
  template <typename Body>
  QC_HD void operator()() const {
    const qc::uindex_t items = qc::uindex_t{1}
                               << (BlockBits - static_cast<int>(op[qc::op::kNumSorted]));
    for (qc::uindex_t item = threadIdx.x; item < items; item += blockDim.x) {
      qc::apply_op_item<Body>(block, BlockBits, item, op, data);
    }
  }
};

// A run of consecutive ops whose qubits (targets and sorted positions) all lie below
// BlockBits, on a batch of states wider than BlockBits: each CUDA block takes state
// blocks of 2^BlockBits consecutive amplitudes in a grid-stride loop (num_blocks in
// all, batch entry by batch entry), copies one into shared memory, applies every op of
// the run to the copy as a state of BlockBits qubits (the same per-item bodies as
// qc_apply_op, dispatched on each row's kind and size at run time), with a barrier
// between ops, and writes it back: one pass over device memory for the whole run.
// Every amplitude sees the same ops in the same order through the same body as op by
// op. BlockBits is chosen per precision so that the copy fits the 48 KiB of static
// shared memory a block may have (devices/kernel_source.py, BLOCK_BITS).
template <typename T, int BlockBits>
__global__ void qc_apply_blocked_run(qc::complex<T>* states, int num_qubits, long long num_blocks,
                                     const long long* ops, long long num_ops,
                                     const qc::complex<T>* data, const long long* rows,
                                     long long row_width, long long mask_slot) {
  constexpr qc::uindex_t kAmplitudes = qc::uindex_t{1} << BlockBits;
  __shared__ qc::complex<T> block[kAmplitudes];
  const qc::ActiveMask mask{rows, row_width, mask_slot};
  const int blocks_bits = num_qubits - BlockBits;  // state blocks per state, log2
  for (qc::uindex_t index = blockIdx.x; index < static_cast<qc::uindex_t>(num_blocks);
       index += gridDim.x) {
    const qc::uindex_t entry = index >> blocks_bits;
    if (!mask.active(entry)) {  // the same for every thread of the block
      continue;
    }
    qc::complex<T>* amplitudes = states + (index << BlockBits);
    // Each thread loads and stores the same amplitudes, so no barrier is needed between
    // one state block's store and the next one's load.
    for (qc::uindex_t i = threadIdx.x; i < kAmplitudes; i += blockDim.x) {
      block[i] = amplitudes[i];
    }
    __syncthreads();
    for (long long j = 0; j < num_ops; ++j) {
      const long long* op = ops + static_cast<qc::uindex_t>(j) * qc::op::kOpWidth;
      const BlockedOpItems<T, BlockBits> items{
          block, op, data + static_cast<qc::index_t>(entry) * op[qc::op::kDataBatchStride]};
      qc::visit_op_body<T>(op, items);
      __syncthreads();
    }
    for (qc::uindex_t i = threadIdx.x; i < kAmplitudes; i += blockDim.x) {
      amplitudes[i] = block[i];
    }
  }
}

template <typename T>
__global__ void qc_set_zero_state(qc::complex<T>* states, int num_qubits, long long num_items) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) { qc::set_zero_state(states, num_qubits, item); }
}

template <typename T>
__global__ void qc_density_diagonal(const qc::complex<T>* densities, qc::complex<T>* states,
                                    int num_qubits, long long num_items) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    qc::density_diagonal(densities, states, num_qubits, item);
  }
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

template <typename T>
__global__ void qc_expectation_partials(const qc::complex<T>* states, int num_qubits, long long batch,
                                        long long num_items, const long long* passes,
                                        const long long* pieces, int chunk_bits, double* partials) {
  const qc::uindex_t num_passes = (static_cast<qc::uindex_t>(num_items) >> chunk_bits) /
                                  static_cast<qc::uindex_t>(batch);
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    qc::expectation_partials(states, num_qubits, static_cast<qc::uindex_t>(batch), num_passes,
                             item, passes, pieces, chunk_bits, partials);
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

__global__ void qc_classical(long long* rows, long long row_width, long long num_items,
                             const long long* code, long long length, long long mask_slot) {
  const qc::ActiveMask mask{rows, row_width, mask_slot};
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    if (mask.active(item)) {
      qc::run_classical(rows + item * static_cast<qc::uindex_t>(row_width), code, length);
    }
  }
}

__global__ void qc_decide_outcomes(long long* rows, long long row_width, long long num_items,
                                   const double* probabilities, unsigned long long seed,
                                   long long clbit_slot, long long mask_slot) {
  const qc::ActiveMask mask{rows, row_width, mask_slot};
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    qc::decide_outcome(rows, row_width, item, probabilities, seed, clbit_slot, mask);
  }
}

__global__ void qc_choose_kraus(long long* rows, long long row_width, long long num_items,
                                const double* pieces, const double* coefficients, int num_kraus,
                                int num_pieces, long long index_slot, double* scales,
                                long long mask_slot) {
  const qc::ActiveMask mask{rows, row_width, mask_slot};
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    qc::choose_kraus(rows, row_width, item, static_cast<qc::uindex_t>(num_items), pieces,
                     coefficients, num_kraus, num_pieces, index_slot, scales, mask);
  }
}

template <typename T>
__global__ void qc_scale_states(qc::complex<T>* states, int num_qubits, long long num_items,
                                const double* scales, const long long* rows, long long row_width,
                                long long mask_slot) {
  const qc::ActiveMask mask{rows, row_width, mask_slot};
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    qc::scale_amplitude(states, num_qubits, item, scales, mask);
  }
}

template <typename T>
__global__ void qc_collapse(qc::complex<T>* states, int num_qubits, long long num_items, int qubit,
                            const double* probabilities, const long long* rows,
                            long long row_width, int reset, long long mask_slot) {
  const qc::ActiveMask mask{rows, row_width, mask_slot};
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    qc::collapse_pair(states, num_qubits, item, qubit, probabilities, rows, row_width, reset != 0,
                      mask);
  }
}

template <typename T>
__global__ void qc_gather(const qc::complex<T>* source, qc::complex<T>* branches, int num_qubits,
                          long long num_items, const long long* sources) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    qc::gather_amplitude(source, branches, num_qubits, item, sources);
  }
}

__global__ void qc_sample_shots(const double* cumulative, int num_measured, long long num_items,
                                const long long* shot_states, const long long* shot_numbers,
                                const long long* rows, long long row_width,
                                unsigned long long seed, long long* outcomes) {
  for (qc::uindex_t item = grid_first_item(); item < static_cast<qc::uindex_t>(num_items);
       item += grid_item_stride()) {
    outcomes[item] = qc::sample_shot(cumulative, num_measured, item, shot_states, shot_numbers,
                                     rows, row_width, seed);
  }
}
