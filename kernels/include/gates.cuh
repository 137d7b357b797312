// Per-item bodies of the gate kernels, templated on precision T and gate size K.
//
// A gate op (see op_layout.cuh) is applied as a set of independent work items. Item i
// of a batch of states splits into (batch entry, local item); the local item is an
// index over the qubits the op leaves free, into which the op's sorted positions are
// inserted as zero bits. Each body below handles one local item of one state, so the
// CUDA and OpenMP launchers only have to enumerate items.
#pragma once

#include "bits.cuh"
#include "op_layout.cuh"

namespace qc {

// The index of the first amplitude of a local item: the sorted positions of the op
// inserted as zeros, then the control bits set to their required values.
QC_HD uindex_t item_base_index(uindex_t local_item, const index_t* op) {
  return insert_zero_bits(local_item, op + op::kSorted, static_cast<int>(op[op::kNumSorted])) |
         static_cast<uindex_t>(op[op::kControlValue]);
}

// Dense 2^K x 2^K matrix on K targets with any controls. Sorted positions: targets
// and controls. One item owns the 2^K amplitudes that the matrix mixes.
template <typename T, int K>
struct DenseBody {
  static QC_HD void apply(complex<T>* state, uindex_t local_item, const index_t* op,
                          const complex<T>* matrix) {
    constexpr int kDim = 1 << K;
    const uindex_t base = item_base_index(local_item, op);
    uindex_t index[kDim];
    complex<T> amp[kDim];
    QC_UNROLL
    for (int j = 0; j < kDim; ++j) {
      index[j] = base | deposit_bits(static_cast<uindex_t>(j), op + op::kTargets, K);
      amp[j] = state[index[j]];
    }
    QC_UNROLL
    for (int r = 0; r < kDim; ++r) {
      complex<T> acc{T(0), T(0)};
    QC_UNROLL
      for (int c = 0; c < kDim; ++c) {
        acc = cfma(acc, matrix[r * kDim + c], amp[c]);
      }
      state[index[r]] = acc;
    }
  }
};

// Diagonal matrix on K targets with any controls. Sorted positions: controls only.
// One item owns one amplitude.
template <typename T, int K>
struct DiagonalBody {
  static QC_HD void apply(complex<T>* state, uindex_t local_item, const index_t* op,
                          const complex<T>* diagonal) {
    const uindex_t index = item_base_index(local_item, op);
    const uindex_t entry = gather_bits(index, op + op::kTargets, K);
    state[index] = cmul(diagonal[entry], state[index]);
  }
};

// Diagonal on a number of ascending targets known only at run time (up to
// kMaxWideTargets): the fused diagonal runs of a program, such as a QFT stage.
// Sorted positions: controls only. One item owns one amplitude.
template <typename T>
struct WideDiagonalBody {
  static QC_HD void apply(complex<T>* state, uindex_t local_item, const index_t* op,
                          const complex<T>* diagonal) {
    const uindex_t index = item_base_index(local_item, op);
    const uindex_t entry = extract_bits(index, static_cast<uindex_t>(op[op::kTargetMask]),
                                        op + op::kTargets, static_cast<int>(op[op::kNumTargets]));
    state[index] = cmul(diagonal[entry], state[index]);
  }
};

// Monomial matrix (a permutation with a phase per column) on K targets with any
// controls: X, Y, CX, SWAP, iSWAP and their controlled forms. Sorted positions:
// targets and controls. Input basis state j moves to op[kPermutation + j], times
// phase[j] when the op is phased; a pure permutation (X, CX, SWAP) only moves
// amplitudes, with no arithmetic.
template <typename T, int K>
struct PermutationBody {
  static QC_HD void apply(complex<T>* state, uindex_t local_item, const index_t* op,
                          const complex<T>* phase) {
    constexpr int kDim = 1 << K;
    const uindex_t base = item_base_index(local_item, op);
    const index_t* targets = op + op::kTargets;
    complex<T> amp[kDim];
    QC_UNROLL
    for (int j = 0; j < kDim; ++j) {
      amp[j] = state[base | deposit_bits(static_cast<uindex_t>(j), targets, K)];
    }
    const bool phased = op[op::kPhased] != 0;
    QC_UNROLL
    for (int j = 0; j < kDim; ++j) {
      const uindex_t image = static_cast<uindex_t>(op[op::kPermutation + j]);
      state[base | deposit_bits(image, targets, K)] = phased ? cmul(phase[j], amp[j]) : amp[j];
    }
  }
};

// Applies `Body` to work item `item` of a batch of states, each 2^num_qubits long.
template <typename Body, typename T>
QC_HD void apply_op_item(complex<T>* states, int num_qubits, uindex_t item, const index_t* op,
                         const complex<T>* data) {
  const int free_bits = num_qubits - static_cast<int>(op[op::kNumSorted]);
  const uindex_t entry = item >> free_bits;
  const uindex_t local_item = item & ((uindex_t{1} << free_bits) - 1);
  Body::apply(states + (entry << num_qubits), local_item, op,
              data + op[op::kDataOffset] + static_cast<index_t>(entry) * op[op::kDataBatchStride]);
}

}  // namespace qc
