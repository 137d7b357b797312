// Per-item bodies for measurement: marginal probabilities and sampling.
//
// Marginal probabilities are reduced in two deterministic passes so that the result
// does not depend on thread scheduling: pass one sums fixed chunks of amplitudes into
// partial sums, pass two adds each outcome's partials in order. Sampling draws one
// counter-based random number per shot, so shot s of a seed gives the same draw on any
// device and in any launch configuration.
#pragma once

#include "bits.cuh"

namespace qc {

// Partial sum of |amplitude|^2 for work item `item` = ((entry * 2^m + outcome) * 2^c + chunk),
// where m = num_measured and c = chunk_bits. Outcome bit b is the value of qubit
// positions[b]; the chunk covers 2^(n - m - c) consecutive values of the other qubits.
template <typename T>
QC_HD double marginal_partial(const complex<T>* states, int num_qubits, uindex_t item,
                              const index_t* positions, const index_t* sorted_positions,
                              int num_measured, int chunk_bits) {
  const int rest_bits = num_qubits - num_measured - chunk_bits;
  const uindex_t chunk = item & ((uindex_t{1} << chunk_bits) - 1);
  const uindex_t outcome = (item >> chunk_bits) & ((uindex_t{1} << num_measured) - 1);
  const uindex_t entry = item >> (chunk_bits + num_measured);
  const complex<T>* state = states + (entry << num_qubits);
  const uindex_t outcome_bits = deposit_bits(outcome, positions, num_measured);
  const uindex_t first = chunk << rest_bits;
  const uindex_t count = uindex_t{1} << rest_bits;
  double sum = 0.0;
  for (uindex_t r = 0; r < count; ++r) {
    const uindex_t index = insert_zero_bits(first + r, sorted_positions, num_measured) | outcome_bits;
    sum += static_cast<double>(cnorm(state[index]));
  }
  return sum;
}

// Probability of amplitude `item` of a batch of states: the marginal distribution when
// every qubit is measured in order, without the index arithmetic of marginal_partial.
template <typename T>
QC_HD double probability(const complex<T>* states, uindex_t item) {
  return static_cast<double>(cnorm(states[item]));
}

// Sum of the 2^chunk_bits partials of output `item`, in order.
QC_HD double reduce_partials(const double* partials, uindex_t item, int chunk_bits) {
  const double* first = partials + (item << chunk_bits);
  double sum = 0.0;
  for (uindex_t c = 0; c < (uindex_t{1} << chunk_bits); ++c) {
    sum += first[c];
  }
  return sum;
}

// SplitMix64 finalizer: a bijective 64-bit mix with good avalanche.
QC_HD uindex_t mix64(uindex_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A uniform double in [0, 1) for (seed, counter): 53 random bits.
QC_HD double uniform_double(uindex_t seed, uindex_t counter) {
  const uindex_t bits = mix64(mix64(seed) + (counter + 1) * 0x9e3779b97f4a7c15ULL);
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
}

// The uniform draw number `counter` of shot `shot` under `seed`, in [0, 1): the draws of
// trajectories (measurements, noise) of dynamic circuits.
QC_HD double trajectory_draw(uindex_t seed, uindex_t shot, uindex_t counter) {
  return uniform_double(mix64(seed ^ mix64(shot + 0x632be59bd9b4e019ULL)), counter);
}

// The first index of a cumulative row of `size` entries whose value exceeds `target`.
QC_HD uindex_t search_cumulative(const double* row, uindex_t size, double target) {
  uindex_t low = 0;
  uindex_t high = size - 1;
  while (low < high) {
    const uindex_t middle = low + ((high - low) >> 1);
    if (row[middle] > target) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return low;
}

// Outcome of shot `item` = entry * shots + shot: the first index whose cumulative
// probability exceeds a uniform draw scaled to the row's total. Rows are 2^m long.
QC_HD index_t sample_outcome(const double* cumulative, int num_measured, uindex_t item,
                             uindex_t shots, const uindex_t* seeds) {
  const uindex_t entry = item / shots;
  const uindex_t shot = item - entry * shots;
  const uindex_t size = uindex_t{1} << num_measured;
  const double* row = cumulative + entry * size;
  const double target = uniform_double(seeds[entry], shot) * row[size - 1];
  return static_cast<index_t>(search_cumulative(row, size, target));
}

}  // namespace qc
