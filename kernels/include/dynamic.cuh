// Per-item bodies of dynamic circuits: measurement draws, collapse and reset,
// gathering branches, and the terminal draw of each shot.
//
// Every trajectory (or branch of shots that share a state) has a row of int64 slots
// (classical.cuh). A measurement of one qubit is: the per-state probabilities of 0 and
// 1 (measure.cuh's marginal reduction), one draw per trajectory from the counter-based
// generator keyed by (seed, shot, measurement counter), then the collapse of each
// amplitude pair, renormalised. The same draw function runs on the host when it decides
// how a branch of shots splits, so a shot's outcomes do not depend on whether it ran
// alone or in a branch (qiskit_cupy/runtime/trajectories.py).
#pragma once

#include "classical.cuh"
#include "measure.cuh"

namespace qc {

// The outcome a draw u gives when 0 and 1 have weights p0 and p1.
QC_HD index_t outcome_of_draw(double u, double p0, double p1) {
  return u * (p0 + p1) >= p0 ? 1 : 0;
}

// Decides the measurement outcome of state `item` (probabilities[2 item + b] is the
// weight of outcome b), if active: counts the draw, keeps the outcome in kOutcomeSlot
// and, when clbit_slot >= 0, in that slot too.
QC_HD void decide_outcome(index_t* rows, index_t row_width, uindex_t item,
                          const double* probabilities, uindex_t seed, index_t clbit_slot,
                          ActiveMask mask) {
  if (!mask.active(item)) {
    return;
  }
  index_t* row = rows + item * static_cast<uindex_t>(row_width);
  const double u = trajectory_draw(seed, static_cast<uindex_t>(row[cl::kShotSlot]),
                                   static_cast<uindex_t>(row[cl::kCounterSlot]));
  const index_t outcome = outcome_of_draw(u, probabilities[2 * item], probabilities[2 * item + 1]);
  row[cl::kCounterSlot] += 1;
  row[cl::kOutcomeSlot] = outcome;
  if (clbit_slot >= 0) {
    row[clbit_slot] = outcome;
  }
}

// Amplitude pair `item` of a batch (entry = item >> (n - 1)) at qubit `qubit`: keeps the
// half of the measured outcome (kOutcomeSlot of the entry's row), scaled by
// 1/sqrt(its probability), and zeroes the other; a reset then moves the kept half to
// the qubit's |0>. Inactive entries are left as they are.
template <typename T>
QC_HD void collapse_pair(complex<T>* states, int num_qubits, uindex_t item, int qubit,
                         const double* probabilities, const index_t* rows, index_t row_width,
                         bool reset, ActiveMask mask) {
  const uindex_t entry = item >> (num_qubits - 1);
  if (!mask.active(entry)) {
    return;
  }
  const uindex_t local = item & ((uindex_t{1} << (num_qubits - 1)) - 1);
  const uindex_t low = local & ((uindex_t{1} << qubit) - 1);
  const uindex_t zero = (entry << num_qubits) | ((local - low) << 1) | low;
  const uindex_t one = zero | (uindex_t{1} << qubit);
  const index_t outcome = rows[entry * static_cast<uindex_t>(row_width) + cl::kOutcomeSlot] != 0;
  const double weight = probabilities[2 * entry + outcome];
  const T scale = static_cast<T>(1.0 / square_root(weight));
  const complex<T> kept = outcome ? states[one] : states[zero];
  const complex<T> scaled{kept.re * scale, kept.im * scale};
  const complex<T> nothing{T(0), T(0)};
  if (reset || outcome == 0) {
    states[zero] = scaled;
    states[one] = nothing;
  } else {
    states[zero] = nothing;
    states[one] = scaled;
  }
}

// The weight of one Kraus operator for state `item` (see choose_kraus).
QC_HD double kraus_weight(const double* pieces, const double* coefficients, int num_pieces,
                          uindex_t batch, uindex_t item) {
  double weight = 0.0;
  for (int p = 0; p < num_pieces; ++p) {
    const double* part = pieces + (static_cast<uindex_t>(p) * batch + item) * 2;
    weight += coefficients[2 * p] * part[0] + coefficients[2 * p + 1] * part[1];
  }
  return weight;
}

// Draws which Kraus operator of a channel acts on state `item`, if active. The weight of
// operator i, <K_i^dagger K_i>, is a real linear form in the state's observable pieces
// (expectation.cuh; pieces[(p batch + item) 2 + c] is part c, real or imaginary, of piece
// p): sum over p and c of coefficients[(i P + p) 2 + c] * that part. Counts the draw, keeps i in `index_slot` and
// 1/sqrt(weight of i) in scales[item], so that scaling the state and applying K_i
// leaves it normalised.
QC_HD void choose_kraus(index_t* rows, index_t row_width, uindex_t item, uindex_t batch,
                        const double* pieces, const double* coefficients, int num_kraus,
                        int num_pieces, index_t index_slot, double* scales, ActiveMask mask) {
  if (!mask.active(item)) {
    return;
  }
  index_t* row = rows + item * static_cast<uindex_t>(row_width);
  double total = 0.0;
  for (int i = 0; i < num_kraus; ++i) {
    total += kraus_weight(pieces, coefficients + 2 * i * num_pieces, num_pieces, batch, item);
  }
  const double u = trajectory_draw(static_cast<uindex_t>(row[cl::kSeedSlot]),
                                   static_cast<uindex_t>(row[cl::kShotSlot]),
                                   static_cast<uindex_t>(row[cl::kCounterSlot])) * total;
  int chosen = -1;
  double weight = 0.0;
  double cumulative = 0.0;
  for (int i = 0; i < num_kraus; ++i) {
    const double w = kraus_weight(pieces, coefficients + 2 * i * num_pieces, num_pieces, batch, item);
    if (w <= 0.0) {
      continue;
    }
    chosen = i;
    weight = w;
    cumulative += w;
    if (u < cumulative) {
      break;
    }
  }
  row[cl::kCounterSlot] += 1;
  row[index_slot] = chosen;
  scales[item] = chosen < 0 ? 1.0 : 1.0 / square_root(weight);
}

// Amplitude `item` of a batch, scaled by its state's factor (item >> n) if active.
template <typename T>
QC_HD void scale_amplitude(complex<T>* states, int num_qubits, uindex_t item, const double* scales,
                           ActiveMask mask) {
  const uindex_t entry = item >> num_qubits;
  if (!mask.active(entry)) {
    return;
  }
  const T scale = static_cast<T>(scales[entry]);
  states[item] = complex<T>{states[item].re * scale, states[item].im * scale};
}

// Amplitude `item` of a new batch of branches: branch j = item >> n is a copy of
// state sources[j] of the old batch.
template <typename T>
QC_HD void gather_amplitude(const complex<T>* source, complex<T>* branches, int num_qubits,
                            uindex_t item, const index_t* sources) {
  const uindex_t branch = item >> num_qubits;
  const uindex_t offset = item & ((uindex_t{1} << num_qubits) - 1);
  branches[item] = source[(static_cast<uindex_t>(sources[branch]) << num_qubits) | offset];
}

// Terminal outcome of shot `item`: drawn from the cumulative distribution (rows of 2^m)
// of its state shot_states[item], keyed by its shot number and its state's counter.
QC_HD index_t sample_shot(const double* cumulative, int num_measured, uindex_t item,
                          const index_t* shot_states, const index_t* shot_numbers,
                          const index_t* rows, index_t row_width, uindex_t seed) {
  const uindex_t state = static_cast<uindex_t>(shot_states[item]);
  const uindex_t size = uindex_t{1} << num_measured;
  const double* row = cumulative + state * size;
  const index_t counter = rows[state * static_cast<uindex_t>(row_width) + cl::kCounterSlot];
  const double target = trajectory_draw(seed, static_cast<uindex_t>(shot_numbers[item]),
                                        static_cast<uindex_t>(counter)) * row[size - 1];
  return static_cast<index_t>(search_cumulative(row, size, target));
}

}  // namespace qc
