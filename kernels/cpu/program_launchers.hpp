// The definition of run_program (program.hpp) and the op launchers it dispatches to.
// Included only by the per-precision translation units that instantiate it.
#pragma once

#include <limits>
#include <utility>

#include "checks.hpp"
#include "classical.cuh"
#include "common.hpp"
#include "gates.cuh"
#include "program.hpp"

namespace qc_cpu {

// Op launchers. Local items below an op's lowest sorted position map to consecutive
// amplitudes, so items are handed to the bodies in runs of up to 2^kMaxRunBits: the
// bit insertion, target offsets and a split copy of the op's data are computed once
// per run (or once per op), and each body's loop over a run runs in SIMD lanes. An op
// whose lowest sorted position is low (a low target or control) has runs too short
// to vectorize: its items go in tiles of 2^TileBits items at arbitrary positions, which
// the dense body transposes so that the SIMD lanes run across items.
constexpr int kMaxRunBits = 10;
constexpr int kMinRunBits = 3;

// SIMD width the CPU extension is compiled for, in bytes.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;
#endif

constexpr int log2_of(int value) { return value <= 1 ? 0 : 1 + log2_of(value / 2); }

// A call of a launcher's run callback covers at least this many items (log2): an op
// whose runs are shorter gets several consecutive runs per call, so that the per-call
// work (the data check, the callback, the body's setup) is spread over enough items.
constexpr int kMinCallBits = 8;

// Calls run(state, first_item, num_runs, b, entries) over the items of one op, on a
// batch of states: num_runs consecutive runs of 2^b consecutive items each, the first
// run starting at local item first_item (min_run_bits <= b <= kMaxRunBits), or, when
// the op's lowest sorted position is below min_run_bits, tile(state, bases, entries)
// over tiles of 2^TileBits items. `entries` is the op's data for the state's batch
// entry as SplitEntries<T, N>.
template <typename T, int N, int TileBits, typename Run, typename Tile>
void launch_op(qc::complex<T>* states, int num_qubits, index_t batch, const qc::index_t* op,
               const qc::complex<T>* data, qc::ActiveMask mask, int num_threads,
               int min_run_bits, const Run& run, const Tile& tile) {
  namespace o = qc::op;
  constexpr int kTileItems = 1 << TileBits;
  const int num_sorted = static_cast<int>(op[o::kNumSorted]);
  const int free_bits = num_qubits - num_sorted;
  const int lowest = num_sorted > 0 ? static_cast<int>(op[o::kSorted]) : num_qubits;
  const index_t items = batch << free_bits;
  const int threads = items >= kMinParallelItems ? resolve_threads(num_threads) : 1;
  const bool use_runs = lowest >= min_run_bits || free_bits < TileBits;
  const int run_bits = use_runs ? (lowest < kMaxRunBits ? lowest : kMaxRunBits) : TileBits;
  // Runs per call (log2), never past a batch entry's items.
  const int runs_bits = use_runs && run_bits < kMinCallBits
                            ? (kMinCallBits - run_bits < free_bits - run_bits ? kMinCallBits - run_bits
                                                                               : free_bits - run_bits)
                            : 0;
  const int group_bits = run_bits + runs_bits;     // items per call, log2
  const int groups_bits = free_bits - group_bits;  // calls per batch entry, log2
  const index_t groups = batch << groups_bits;
  const uindex_t group_mask = (uindex_t{1} << groups_bits) - 1;
  const index_t stride = op[o::kDataBatchStride];
  const qc::complex<T>* first_data = data + op[o::kDataOffset];
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    qc::SplitEntries<T, N> entries;
    index_t loaded = -1;
#pragma omp for schedule(static)
    for (index_t group = 0; group < groups; ++group) {
      const index_t entry = group >> groups_bits;
      if (!mask.active(static_cast<uindex_t>(entry))) {
        continue;
      }
      const index_t key = stride == 0 ? 0 : entry;
      if (key != loaded) {
        entries.load(first_data + key * stride);
        loaded = key;
      }
      qc::complex<T>* state = states + (static_cast<uindex_t>(entry) << num_qubits);
      const uindex_t first_item = (static_cast<uindex_t>(group) & group_mask) << group_bits;
      if (use_runs) {
        run(state, first_item, uindex_t{1} << runs_bits, run_bits, entries);
      } else {
        uindex_t bases[kTileItems];
        for (int w = 0; w < kTileItems; ++w) {
          bases[w] = qc::item_base_index(first_item + w, op);
        }
        tile(state, bases, entries);
      }
    }
  }
}

// Runs one op of a sized kind through its body's Plan, apply_run and apply_tile.
template <typename Body, typename T>
void run_sized_op(qc::complex<T>* states, int num_qubits, index_t batch, const qc::index_t* op,
                  const qc::complex<T>* data, qc::ActiveMask mask, int num_threads) {
  using Entries = qc::SplitEntries<T, Body::kEntries>;
  // Tiles of W items, one SIMD vector wide.
  constexpr int W = kVectorBytes / static_cast<int>(sizeof(T));
  constexpr int kTileBits = log2_of(W);
  const typename Body::Plan plan(op);
  const auto tile = [&](qc::complex<T>* state, const uindex_t* bases, const Entries& entries) {
    Body::template apply_tile<W>(state, 0, bases, plan, entries);
  };
  // Each run of a call: its first amplitude, then the body over its 2^run_bits items.
  const auto runs = [&](qc::complex<T>* state, uindex_t first_item, uindex_t num_runs, int run_bits,
                        const auto& body) {
    for (uindex_t g = 0; g < num_runs; ++g) {
      body(qc::item_base_index(first_item + (g << run_bits), op), uindex_t{1} << run_bits);
    }
  };
  if constexpr (!Body::kRunsAsTiles) {
    launch_op<T, Body::kEntries, kTileBits>(
        states, num_qubits, batch, op, data, mask, num_threads, kMinRunBits,
        [&](qc::complex<T>* state, uindex_t first_item, uindex_t num_runs, int run_bits,
            const Entries& entries) {
          runs(state, first_item, num_runs, run_bits, [&](uindex_t base, uindex_t count) {
            Body::apply_run(state, base, count, plan, entries);
          });
        },
        tile);
  } else {
    launch_op<T, Body::kEntries, kTileBits>(
        states, num_qubits, batch, op, data, mask, num_threads, kTileBits,
        [&](qc::complex<T>* state, uindex_t first_item, uindex_t num_runs, int run_bits,
            const Entries& entries) {
          runs(state, first_item, num_runs, run_bits, [&](uindex_t base, uindex_t count) {
            if (count < static_cast<uindex_t>(W)) {  // only for states of a few qubits
              Body::apply_run(state, base, count, plan, entries);
              return;
            }
            for (uindex_t first = 0; first < count; first += W) {
              Body::template apply_tile<W>(state, base + first, nullptr, plan, entries);
            }
          });
        },
        tile);
  }
}

// Runs one op of a run-time-size kind: its body's per-item apply, as on the GPU.
template <typename Body, typename T>
void run_item_op(qc::complex<T>* states, int num_qubits, index_t batch, const qc::index_t* op,
                 const qc::complex<T>* data, qc::ActiveMask mask, int num_threads) {
  const int free_bits = num_qubits - static_cast<int>(op[qc::op::kNumSorted]);
  parallel_items(batch << free_bits, num_threads, [&](uindex_t item) {
    if (mask.active(item >> free_bits)) {
      qc::apply_op_item<Body>(states, num_qubits, item, op, data);
    }
  });
}

// Runs one op of kind Entry: the body instantiated for the op's size (K in
// 1..kMaxTargets), or the run-time-size body.
template <typename T, typename Entry, int... Ks>
bool run_kind(std::integer_sequence<int, Ks...>, qc::complex<T>* states, int num_qubits,
              index_t batch, const qc::index_t* op, const qc::complex<T>* data,
              qc::ActiveMask mask, int num_threads) {
  if constexpr (!Entry::kSized) {
    run_item_op<typename Entry::template BodyOf<T, 0>>(states, num_qubits, batch, op, data, mask,
                                                       num_threads);
    return true;
  } else {
    const index_t k = op[qc::op::kNumTargets];
    return ((k == Ks + 1 ? (run_sized_op<typename Entry::template BodyOf<T, Ks + 1>>(
                                states, num_qubits, batch, op, data, mask, num_threads),
                            true)
                         : false) ||
            ...);
  }
}

// Dispatches one op row to its kind's launcher, by walking the registry.
template <typename T, typename... Entries>
void run_op_of(qc::OpKindList<Entries...>, qc::complex<T>* states, int num_qubits, index_t batch,
               const qc::index_t* op, const qc::complex<T>* data, qc::ActiveMask mask,
               int num_threads) {
  const index_t code = op[qc::op::kKind];
  const bool ran = ((code == Entries::kCode &&
                     run_kind<T, Entries>(std::make_integer_sequence<int, Entries::kMaxTargets>{},
                                          states, num_qubits, batch, op, data, mask,
                                          num_threads)) ||
                    ...);
  if (!ran) {
    throw std::invalid_argument("op has an unsupported kind or number of targets");
  }
}

template <typename T>
void run_op(qc::complex<T>* states, int num_qubits, index_t batch, const qc::index_t* op,
            const qc::complex<T>* data, qc::ActiveMask mask, int num_threads) {
  run_op_of<T>(qc::OpKinds{}, states, num_qubits, batch, op, data, mask, num_threads);
}

// States up to this size run a whole program per thread, one batch entry at a time,
// while they stay in the core's cache; larger ones run each op across all threads.
constexpr size_t kCacheResidentStateBytes = size_t{1} << 18;

// A blocked run is worth its bookkeeping from this many ops; one op is one pass anyway.
constexpr index_t kMinBlockedOps = 2;

// Whether an op may run inside blocks of 2^bits amplitudes of amplitude type T: every
// qubit it reads or writes (its targets and its sorted positions: controls, and the
// targets of the kinds whose items do not enumerate them) lies below bits, and a block
// leaves it at least a SIMD tile of free bits, so that launch_op takes the same path
// (runs or tiles) for it inside a block as on the whole state: the block then computes
// every amplitude with the same arithmetic, to the last bit.
template <typename T>
bool fits_block(const qc::index_t* op, int bits) {
  namespace o = qc::op;
  constexpr int kTileBits = log2_of(kVectorBytes / static_cast<int>(sizeof(T)));
  const index_t sorted = op[o::kNumSorted];
  if (bits - sorted < kTileBits || (sorted > 0 && op[o::kSorted + sorted - 1] >= bits)) {
    return false;
  }
  for (index_t j = 0; j < op[o::kNumTargets]; ++j) {
    if (op[o::kTargets + j] >= bits) {
      return false;
    }
  }
  return true;
}

// Applies ops [first, last) of a program, all of which fit blocks of `bits`, block by
// block: each block of 2^bits consecutive amplitudes of a state is a state of `bits`
// qubits for these ops, so a thread applies every op of the run to one block while it
// sits in the core's cache, then moves to the next: one pass over memory for the run
// instead of one per op. Each amplitude sees the same ops in the same order with the
// same arithmetic as op by op (fits_block), so the result is the same to the last bit,
// whatever the batch or the thread count.
template <typename T>
void run_blocked(qc::complex<T>* states, int num_qubits, index_t batch, int bits,
                 const qc::index_t* first, const qc::index_t* last, const qc::complex<T>* data,
                 qc::ActiveMask mask, int threads) {
  const qc::ActiveMask everything{nullptr, 0, -1};
  const int blocks_bits = num_qubits - bits;  // blocks per state, log2
  const index_t blocks = batch << blocks_bits;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (index_t block = 0; block < blocks; ++block) {
    const index_t entry = block >> blocks_bits;
    if (!mask.active(static_cast<uindex_t>(entry))) {
      continue;
    }
    qc::complex<T>* amplitudes = states + (static_cast<uindex_t>(block) << bits);
    for (const qc::index_t* op = first; op < last; op += qc::op::kOpWidth) {
      run_op<T>(amplitudes, bits, 1, op, data + entry * op[qc::op::kDataBatchStride], everything, 1);
    }
  }
}

// The widths run_program blocks with, for a program of amplitudes of type T: the
// block width (0: no blocking) and whether a batch's whole states are the blocks.
struct Blocking {
  int bits;
  bool resident;
};

template <typename T>
Blocking blocking_of(int num_qubits, index_t batch, int block_bits) {
  block_bits = block_bits < 0 ? cache_block_bits(sizeof(qc::complex<T>)) : block_bits;
  // A whole cache-resident state of a batch is one block: every op of the program runs
  // blocked, one batch entry per thread at a time.
  const bool resident = batch > 1 && (sizeof(qc::complex<T>) << num_qubits) <= kCacheResidentStateBytes;
  return {resident ? num_qubits : (block_bits > 0 && block_bits < num_qubits ? block_bits : 0), resident};
}

// The end of the run that starts at op `first`: past every following op that fits the
// blocks; `first` itself when none does (the op then runs alone, across the state).
template <typename T>
index_t blocked_run_end(const qc::index_t* op_rows, index_t num_ops, index_t first, Blocking blocking) {
  index_t end = first;
  while (end < num_ops && (blocking.resident || (blocking.bits > 0 &&
                                                  fits_block<T>(op_rows + end * qc::op::kOpWidth,
                                                                blocking.bits)))) {
    ++end;
  }
  const bool worth_it = end - first >= kMinBlockedOps || (blocking.resident && end > first);
  return worth_it ? end : first;
}

template <typename T>
void run_program(StateArray<T> states, int num_qubits, index_t batch, OpArray ops,
                 ConstComplexArray<T> data, IndexArray rows, index_t row_width,
                 index_t mask_slot, int num_threads, int block_bits) {
  check_states(num_qubits, batch, states.size());
  check_program(num_qubits, batch, ops, data.size());
  check_rows(batch, rows.size(), row_width, mask_slot);
  const qc::ActiveMask mask{rows.data(), row_width, mask_slot};
  const index_t num_ops = static_cast<index_t>(ops.shape(0));
  nb::gil_scoped_release release;
  qc::complex<T>* state_data = as_qc(states.data());
  const qc::complex<T>* op_data = as_qc(data.data());
  const qc::index_t* op_rows = ops.data();
  const Blocking blocking = blocking_of<T>(num_qubits, batch, block_bits);
  index_t i = 0;
  while (i < num_ops) {
    const index_t end = blocked_run_end<T>(op_rows, num_ops, i, blocking);
    if (end > i) {
      run_blocked<T>(state_data, num_qubits, batch, blocking.bits, op_rows + i * qc::op::kOpWidth,
                     op_rows + end * qc::op::kOpWidth, op_data, mask, resolve_threads(num_threads));
      i = end;
      continue;
    }
    run_op<T>(state_data, num_qubits, batch, op_rows + i * qc::op::kOpWidth, op_data, mask,
              num_threads);
    ++i;
  }
}

template <typename T>
index_t program_passes(int num_qubits, index_t batch, OpArray ops, int block_bits) {
  check_states(num_qubits, batch, static_cast<size_t>(batch) << num_qubits);
  check_program(num_qubits, batch, ops, static_cast<size_t>(std::numeric_limits<index_t>::max()));
  const index_t num_ops = static_cast<index_t>(ops.shape(0));
  const Blocking blocking = blocking_of<T>(num_qubits, batch, block_bits);
  index_t passes = 0;
  for (index_t i = 0; i < num_ops; ++passes) {
    const index_t end = blocked_run_end<T>(ops.data(), num_ops, i, blocking);
    i = end > i ? end : i + 1;
  }
  return passes;
}

}  // namespace qc_cpu
