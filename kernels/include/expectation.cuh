// Per-item bodies for exact expectation values of observables on a batch of states.
//
// An observable term (a Pauli string, or a SparseObservable term with projectors) is
// lowered on the host (compiler/observables.py) to pieces, each of the form
//
//   S = sum_i [(i & cond_mask) == cond_value] (-1)^parity(i & sign_mask) conj(a_i) a_(i ^ flip)
//
// so that the term's value is sum_pieces alpha * S for complex host-side weights alpha.
// Pieces with the same flip mask (the X/Y pattern) read the same amplitude pairs, so
// they are evaluated together in one pass: a pass is a flip mask and up to
// kPiecesPerPass consecutive pieces. The sums run over fixed chunks of each state and are
// added in order afterwards (reduce_partials): the result is deterministic.
#pragma once

#include "bits.cuh"

namespace qc {

// Most pieces one pass evaluates per read of an amplitude pair (accumulators per item).
constexpr int kPiecesPerPass = 8;

// One row of the pass table: the flip mask and the pieces [first, first + count).
struct ExpectationPass {
  uindex_t flip;
  index_t first;
  int count;
};

// Reads row `pass` of the int64 pass table (flip, first piece, piece count).
QC_HD ExpectationPass read_pass(const index_t* passes, uindex_t pass) {
  const index_t* row = passes + 3 * pass;
  return ExpectationPass{static_cast<uindex_t>(row[0]), row[1], static_cast<int>(row[2])};
}

// Partial sums (real and imaginary parts) of one pass's pieces over one chunk of one
// state. `item` = (entry * num_passes + pass) * 2^c + chunk: consecutive items share a
// state, so every pass over it runs while it is in cache. The chunk covers the 2^(n - c)
// consecutive amplitudes i = chunk * 2^(n - c) + r. Piece k of the table (rows of int64
// sign mask, condition mask, condition value) writes its two partials at
// ((k * batch + entry) * 2 + part) * 2^c + chunk.
template <typename T>
QC_HD void expectation_partials(const complex<T>* states, int num_qubits, uindex_t batch,
                                uindex_t num_passes, uindex_t item, const index_t* passes,
                                const index_t* pieces, int chunk_bits, double* partials) {
  const uindex_t chunk_mask = (uindex_t{1} << chunk_bits) - 1;
  const uindex_t chunk = item & chunk_mask;
  const uindex_t entry = (item >> chunk_bits) / num_passes;
  const ExpectationPass pass = read_pass(passes, (item >> chunk_bits) % num_passes);
  const int rest_bits = num_qubits - chunk_bits;
  const complex<T>* state = states + (entry << num_qubits);
  uindex_t sign_masks[kPiecesPerPass];
  uindex_t cond_masks[kPiecesPerPass];
  uindex_t cond_values[kPiecesPerPass];
  double real[kPiecesPerPass];
  double imag[kPiecesPerPass];
  for (int k = 0; k < pass.count; ++k) {
    const index_t* row = pieces + 3 * (pass.first + k);
    sign_masks[k] = static_cast<uindex_t>(row[0]);
    cond_masks[k] = static_cast<uindex_t>(row[1]);
    cond_values[k] = static_cast<uindex_t>(row[2]);
    real[k] = 0.0;
    imag[k] = 0.0;
  }
  for (uindex_t r = 0; r < (uindex_t{1} << rest_bits); ++r) {
    const uindex_t i = (chunk << rest_bits) | r;
    const complex<T> a = state[i];
    const complex<T> b = state[i ^ pass.flip];
    const double pair_re = static_cast<double>(a.re) * b.re + static_cast<double>(a.im) * b.im;
    const double pair_im = static_cast<double>(a.re) * b.im - static_cast<double>(a.im) * b.re;
    for (int k = 0; k < pass.count; ++k) {
      if ((i & cond_masks[k]) != cond_values[k]) continue;
      const double sign = parity(i & sign_masks[k]) ? -1.0 : 1.0;
      real[k] += sign * pair_re;
      imag[k] += sign * pair_im;
    }
  }
  for (int k = 0; k < pass.count; ++k) {
    const uindex_t out = ((static_cast<uindex_t>(pass.first + k) * batch + entry) * 2) << chunk_bits;
    partials[out + chunk] = real[k];
    partials[out + (uindex_t{1} << chunk_bits) + chunk] = imag[k];
  }
}

}  // namespace qc
