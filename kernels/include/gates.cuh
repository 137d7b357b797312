// Gate bodies, templated on precision T and gate size K: the bodies of the op kinds
// that op_layout.cuh registers.
//
// A gate op (see op_layout.cuh) is applied as a set of independent work items. Item i
// of a batch of states splits into (batch entry, local item); the local item is an
// index over the qubits the op leaves free, into which the op's sorted positions are
// inserted as zero bits. An item's amplitudes are at base + offset[j], where base is
// the item's first amplitude and offset[j] places bit b of j at target position b.
//
// Every body has the GPU's entry point:
//  - apply(state, local_item, op, data): one item; the CUDA grid-stride launcher calls
//    it once per item (through apply_op_item). A body of a run-time-size kind has only
//    this one, which the CPU launcher also calls per item.
// A body of a sized kind also has the CPU's, over the same arithmetic:
//  - Plan: what the CPU launcher computes once per op from its row (target offsets,
//    images, a copy of the targets).
//  - apply_run(state, base, count, plan, entries): `count` consecutive items whose
//    amplitudes are base + r + offset[j], r < count. Consecutive local items map to
//    consecutive amplitudes as long as they stay below the op's lowest sorted
//    position, so the OpenMP launcher hands whole runs to one call, and the loop over
//    r, which touches consecutive amplitudes, runs in SIMD lanes.
//  - apply_tile<W>(state, base, bases, plan, entries): W items at bases[w] (or, when
//    bases is null, the run base + w), for ops whose runs are too short to vectorize.
//  - kRunsAsTiles: whether the CPU launcher also cuts long runs into tiles (a body
//    whose tiles run SIMD lanes across items, where that beats lanes along a run).
// Matrix, diagonal and phase entries are read through a small accessor (real(i),
// imag(i)): in place from the interleaved data buffer on the GPU, from a split re/im
// copy on the CPU.
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

// Reads complex entries in place from the interleaved data buffer.
template <typename T>
struct InterleavedEntries {
  const complex<T>* data;
  QC_HD T real(int i) const { return data[i].re; }
  QC_HD T imag(int i) const { return data[i].im; }
};

// A copy of N complex entries split into real and imaginary parts, so that a SIMD
// loop broadcasts each entry with one load. Filled once per op by the CPU launcher.
template <typename T, int N>
struct SplitEntries {
  T re[N];
  T im[N];
  QC_HD void load(const complex<T>* data) {
    for (int i = 0; i < N; ++i) {
      re[i] = data[i].re;
      im[i] = data[i].im;
    }
  }
  QC_HD T real(int i) const { return re[i]; }
  QC_HD T imag(int i) const { return im[i]; }
};

// offsets[j]: bit b of j placed at target position b, for the 2^K target values j.
template <int K>
QC_HD void target_offsets(const index_t* op, uindex_t* offsets) {
  QC_UNROLL
  for (int j = 0; j < (1 << K); ++j) {
    offsets[j] = deposit_bits(static_cast<uindex_t>(j), op + op::kTargets, K);
  }
}

// Rows [row0, row0 + R) of out = M in for a 2^K x 2^K row-major matrix M, for W
// independent vectors (lanes) at once: in_re[c][w] is the real part of entry c of
// vector w. Each row sums over c in order, so every R, W and launcher gives the same
// result. The GPU runs R = 2^K, W = 1 (everything in registers); the CPU runs blocks of
// a few rows over W lanes, so that the accumulators stay in SIMD registers and each
// input is loaded once per row block.
template <typename T, int K, int R, int W, typename Matrix, typename Store>
QC_HD void dense_mix_rows(const Matrix& m, int row0, const T (*in_re)[W], const T (*in_im)[W],
                          const Store& store) {
  constexpr int kDim = 1 << K;
  if constexpr (W == 1) {
    // One vector: row after row, so that only one row's sums are live at a time.
    QC_UNROLL
    for (int r = 0; r < R; ++r) {
      T acc_re = T(0);
      T acc_im = T(0);
      QC_UNROLL
      for (int c = 0; c < kDim; ++c) {
        const T m_re = m.real((row0 + r) * kDim + c);
        const T m_im = m.imag((row0 + r) * kDim + c);
        acc_re = acc_re + m_re * in_re[c][0] - m_im * in_im[c][0];
        acc_im = acc_im + m_re * in_im[c][0] + m_im * in_re[c][0];
      }
      store(row0 + r, 0, acc_re, acc_im);
    }
    return;
  }
  QC_SIMD
  for (int w = 0; w < W; ++w) {
    T acc_re[R];
    T acc_im[R];
    QC_UNROLL
    for (int r = 0; r < R; ++r) {
      acc_re[r] = T(0);
      acc_im[r] = T(0);
    }
    QC_UNROLL
    for (int c = 0; c < kDim; ++c) {
      const T a_re = in_re[c][w];
      const T a_im = in_im[c][w];
      QC_UNROLL
      for (int r = 0; r < R; ++r) {
        const T m_re = m.real((row0 + r) * kDim + c);
        const T m_im = m.imag((row0 + r) * kDim + c);
        acc_re[r] = acc_re[r] + m_re * a_re - m_im * a_im;
        acc_im[r] = acc_im[r] + m_re * a_im + m_im * a_re;
      }
    }
    QC_UNROLL
    for (int r = 0; r < R; ++r) {
      store(row0 + r, w, acc_re[r], acc_im[r]);
    }
  }
}

// Stores of dense_mix_rows: into split [row][lane] arrays (CPU tiles and runs), or
// straight to the amplitude of each row (GPU: one row's result leaves the registers
// as soon as it is complete).
template <typename T, int W>
struct SplitStore {
  T (*re)[W];
  T (*im)[W];
  QC_HD void operator()(int row, int w, T value_re, T value_im) const {
    re[row][w] = value_re;
    im[row][w] = value_im;
  }
};

template <typename T>
struct IndexedStore {
  complex<T>* state;
  const uindex_t* index;
  QC_HD void operator()(int row, int, T value_re, T value_im) const {
    state[index[row]] = complex<T>{value_re, value_im};
  }
};

// Dense 2^K x 2^K matrix on K targets with any controls. Sorted positions: targets
// and controls. One item owns the 2^K amplitudes that the matrix mixes.
template <typename T, int K>
struct DenseBody {
  static constexpr int kDim = 1 << K;
  static constexpr int kEntries = 1 << (2 * K);
  // Up to 4 targets a dense op runs along each run, SIMD lanes along the run and the
  // whole matrix per amplitude group; wider ones mix tiles, SIMD lanes across items.
  // Measured on one AVX2 core, on a cache-resident block (single / double precision,
  // ns per amplitude, runs against tiles): 3 targets 1.0-1.6 / 2.0-2.8 against
  // 2.0-4.7 / 3.2-7.1, 4 targets 3.9-7.9 / 7.7-12.8 against 4.9-12 / 9.1-20, 5 targets
  // 17-30 against 11-25 (tiles win).
  static constexpr bool kRunsAsTiles = K > 4;
  // Rows mixed at a time in a tile (2R accumulators per lane).
  static constexpr int kTileRows = kDim < 4 ? kDim : 4;

  struct Plan {
    uindex_t offsets[kDim];
    QC_HD explicit Plan(const index_t* op) { target_offsets<K>(op, offsets); }
  };

  template <typename Matrix>
  static QC_HD void apply_run(complex<T>* state, uindex_t base, uindex_t count,
                              const Plan& plan, const Matrix& matrix) {
    complex<T>* first[kDim];  // loop invariants, so that the loop over r is affine
    QC_UNROLL
    for (int j = 0; j < kDim; ++j) {
      first[j] = state + base + plan.offsets[j];
    }
    QC_SIMD
    for (uindex_t r = 0; r < count; ++r) {
      T in_re[kDim][1], in_im[kDim][1], out_re[kDim][1], out_im[kDim][1];
      QC_UNROLL
      for (int j = 0; j < kDim; ++j) {
        const complex<T> a = first[j][r];
        in_re[j][0] = a.re;
        in_im[j][0] = a.im;
      }
      dense_mix_rows<T, K, kDim, 1>(matrix, 0, in_re, in_im, SplitStore<T, 1>{out_re, out_im});
      QC_UNROLL
      for (int j = 0; j < kDim; ++j) {
        first[j][r] = complex<T>{out_re[j][0], out_im[j][0]};
      }
    }
  }

  // W items at a time, copied into a split tile and mixed kTileRows rows at a time in
  // SIMD lanes across the items. Item w's amplitudes are bases[w] + offsets[j], or,
  // when bases is null, base + w + offsets[j] (a run).
  template <int W, typename Matrix>
  static QC_HD void apply_tile(complex<T>* state, uindex_t base, const uindex_t* bases,
                               const Plan& plan, const Matrix& matrix) {
    constexpr int R = kTileRows;
    const uindex_t* offsets = plan.offsets;
    T in_re[kDim][W], in_im[kDim][W], out_re[kDim][W], out_im[kDim][W];
    if (bases == nullptr) {
      QC_UNROLL
      for (int j = 0; j < kDim; ++j) {
        const complex<T>* first = state + base + offsets[j];
        QC_SIMD
        for (int w = 0; w < W; ++w) {
          in_re[j][w] = first[w].re;
          in_im[j][w] = first[w].im;
        }
      }
    } else {
      for (int w = 0; w < W; ++w) {
        QC_UNROLL
        for (int j = 0; j < kDim; ++j) {
          const complex<T> a = state[bases[w] + offsets[j]];
          in_re[j][w] = a.re;
          in_im[j][w] = a.im;
        }
      }
    }
    for (int row0 = 0; row0 < kDim; row0 += R) {
      dense_mix_rows<T, K, R, W>(matrix, row0, in_re, in_im, SplitStore<T, W>{out_re, out_im});
    }
    if (bases == nullptr) {
      QC_UNROLL
      for (int j = 0; j < kDim; ++j) {
        complex<T>* first = state + base + offsets[j];
        QC_SIMD
        for (int w = 0; w < W; ++w) {
          first[w].re = out_re[j][w];
          first[w].im = out_im[j][w];
        }
      }
    } else {
      for (int w = 0; w < W; ++w) {
        QC_UNROLL
        for (int j = 0; j < kDim; ++j) {
          state[bases[w] + offsets[j]] = complex<T>{out_re[j][w], out_im[j][w]};
        }
      }
    }
  }

  // One item (the GPU launcher): the same row sums, each row stored once complete.
  static QC_HD void apply(complex<T>* state, uindex_t local_item, const index_t* op,
                          const complex<T>* matrix) {
    const uindex_t base = item_base_index(local_item, op);
    uindex_t index[kDim];
    T in_re[kDim][1], in_im[kDim][1];
    QC_UNROLL
    for (int j = 0; j < kDim; ++j) {
      index[j] = base | deposit_bits(static_cast<uindex_t>(j), op + op::kTargets, K);
      const complex<T> a = state[index[j]];
      in_re[j][0] = a.re;
      in_im[j][0] = a.im;
    }
    dense_mix_rows<T, K, kDim, 1>(InterleavedEntries<T>{matrix}, 0, in_re, in_im,
                                  IndexedStore<T>{state, index});
  }
};

// Diagonal matrix on K targets with any controls. Sorted positions: controls only.
// One item owns one amplitude.
template <typename T, int K>
struct DiagonalBody {
  static constexpr int kEntries = 1 << K;
  static constexpr bool kRunsAsTiles = false;

  // A copy of the K target positions.
  struct Plan {
    index_t targets[K];
    QC_HD explicit Plan(const index_t* op) {
      for (int j = 0; j < K; ++j) {
        targets[j] = op[op::kTargets + j];
      }
    }
  };

  template <typename Diagonal>
  static QC_HD void apply_run(complex<T>* state, uindex_t base, uindex_t count,
                              const Plan& plan, const Diagonal& diagonal) {
    multiply(state, base, count, plan.targets, diagonal);
  }

  template <int W, typename Diagonal>
  static QC_HD void apply_tile(complex<T>* state, uindex_t base, const uindex_t* bases,
                               const Plan& plan, const Diagonal& diagonal) {
    for (int w = 0; w < W; ++w) {
      multiply(state, bases == nullptr ? base + w : bases[w], 1, plan.targets, diagonal);
    }
  }

  static QC_HD void apply(complex<T>* state, uindex_t local_item, const index_t* op,
                          const complex<T>* diagonal) {
    multiply(state, item_base_index(local_item, op), 1, op + op::kTargets,
             InterleavedEntries<T>{diagonal});
  }

  // Amplitudes base .. base + count - 1 times their diagonal entries.
  template <typename Diagonal>
  static QC_HD void multiply(complex<T>* state, uindex_t base, uindex_t count,
                             const index_t* targets, const Diagonal& diagonal) {
    QC_SIMD
    for (uindex_t r = 0; r < count; ++r) {
      const uindex_t index = base + r;
      const int entry = static_cast<int>(gather_bits(index, targets, K));
      const T d_re = diagonal.real(entry);
      const T d_im = diagonal.imag(entry);
      const complex<T> a = state[index];
      state[index] = complex<T>{d_re * a.re - d_im * a.im, d_re * a.im + d_im * a.re};
    }
  }
};

// Diagonal on a number of ascending targets known only at run time (up to the
// registry's limit): the fused diagonal runs of a program, such as a QFT stage.
// Sorted positions: controls only. One item owns one amplitude.
template <typename T, int K>
struct WideDiagonalBody {
  static_assert(K == 0, "the size of a wide diagonal is read from its row");
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
  static constexpr int kDim = 1 << K;
  static constexpr int kEntries = 1 << K;
  static constexpr bool kRunsAsTiles = false;

  // offsets[j] of the targets, images[j]: the offset of the image of basis state j,
  // offsets[op[kPermutation + j]], and whether any phase differs from 1.
  struct Plan {
    uindex_t offsets[kDim];
    uindex_t images[kDim];
    bool phased;
    QC_HD explicit Plan(const index_t* op) : phased(op[op::kPhased] != 0) {
      target_offsets<K>(op, offsets);
      for (int j = 0; j < kDim; ++j) {
        images[j] = offsets[op[op::kPermutation + j]];
      }
    }
  };

  template <typename Phases>
  static QC_HD void apply_run(complex<T>* state, uindex_t base, uindex_t count,
                              const Plan& plan, const Phases& phase) {
    move(state, base, count, plan.offsets, plan.images, phase, plan.phased);
  }

  template <int W, typename Phases>
  static QC_HD void apply_tile(complex<T>* state, uindex_t base, const uindex_t* bases,
                               const Plan& plan, const Phases& phase) {
    for (int w = 0; w < W; ++w) {
      move(state, bases == nullptr ? base + w : bases[w], 1, plan.offsets, plan.images,
           phase, plan.phased);
    }
  }

  // Each item's amplitude j to its image, times its phase when the op is phased. An
  // unphased op (X, CX, SWAP) only moves amplitudes (the compiler unswitches the loop
  // on `phased`).
  template <typename Phases>
  static QC_HD void move(complex<T>* state, uindex_t base, uindex_t count,
                         const uindex_t* offsets, const uindex_t* images, const Phases& phase,
                         bool phased) {
    QC_SIMD
    for (uindex_t r = 0; r < count; ++r) {
      complex<T> amp[kDim];
      QC_UNROLL
      for (int j = 0; j < kDim; ++j) {
        amp[j] = state[base + r + offsets[j]];
      }
      QC_UNROLL
      for (int j = 0; j < kDim; ++j) {
        const T p_re = phase.real(j);
        const T p_im = phase.imag(j);
        state[base + r + images[j]] =
            phased ? complex<T>{p_re * amp[j].re - p_im * amp[j].im, p_re * amp[j].im + p_im * amp[j].re}
                   : amp[j];
      }
    }
  }

  // One item (the GPU launcher): the same products, indices computed in place.
  static QC_HD void apply(complex<T>* state, uindex_t local_item, const index_t* op,
                          const complex<T>* phase) {
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

// Run-time dispatch of an op row to its body, by walking the registry (op_layout.cuh):
// visit.template operator()<Body>() is called with Body the row's kind's body of
// precision T, instantiated for the row's size (K = kNumTargets for a sized kind, 0
// otherwise). Returns whether the row named a registered kind and size (otherwise
// nothing is called). Written without the standard library, for NVRTC.
template <typename T, typename Entry, int K, typename Visitor>
QC_HD bool visit_sized_body(index_t num_targets, Visitor& visit) {
  if constexpr (K > Entry::kMaxTargets) {
    return false;
  } else {
    if (num_targets == K) {
      visit.template operator()<typename Entry::template BodyOf<T, K>>();
      return true;
    }
    return visit_sized_body<T, Entry, K + 1>(num_targets, visit);
  }
}

template <typename T, typename Entry, typename Visitor>
QC_HD bool visit_kind_body(const index_t* op, Visitor& visit) {
  if constexpr (Entry::kSized) {
    return visit_sized_body<T, Entry, 1>(op[op::kNumTargets], visit);
  } else {
    visit.template operator()<typename Entry::template BodyOf<T, 0>>();
    return true;
  }
}

template <typename T, typename Visitor, typename... Entries>
QC_HD bool visit_op_body_of(OpKindList<Entries...>, const index_t* op, Visitor& visit) {
  const index_t code = op[op::kKind];
  return ((code == Entries::kCode && visit_kind_body<T, Entries>(op, visit)) || ...);
}

template <typename T, typename Visitor>
QC_HD bool visit_op_body(const index_t* op, Visitor& visit) {
  return visit_op_body_of<T>(OpKinds{}, op, visit);
}

}  // namespace qc
