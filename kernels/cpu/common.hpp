// What every translation unit of the CPU extension shares: the array types of its
// arguments, the argument-check helper, the thread count and the OpenMP loop over work
// items (the CPU counterpart of a CUDA grid-stride loop).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/tuple.h>

#include <complex>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "portable.cuh"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace qc_cpu {

namespace nb = nanobind;

using qc::index_t;
using qc::uindex_t;

template <typename T>
using StateArray = nb::ndarray<std::complex<T>, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <typename T>
using ConstComplexArray = nb::ndarray<const std::complex<T>, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using OpArray = nb::ndarray<const qc::index_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using IndexArray = nb::ndarray<const qc::index_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using DoubleArray = nb::ndarray<double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using ConstDoubleArray = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using SeedArray = nb::ndarray<const qc::uindex_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using OutcomeArray = nb::ndarray<qc::index_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using RowsArray = nb::ndarray<qc::index_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// Below this many work items a loop runs on the calling thread: a parallel region
// costs more than it saves.
constexpr index_t kMinParallelItems = 1 << 12;

inline void require(bool condition, const std::string& message) {
  if (!condition) {
    throw std::invalid_argument(message);
  }
}

inline int resolve_threads(int num_threads) {
#if defined(_OPENMP)
  return num_threads > 0 ? num_threads : omp_get_max_threads();
#else
  (void)num_threads;
  return 1;
#endif
}

// Calls body(item) for every item in [0, num_items) on up to num_threads threads.
template <typename Body>
void parallel_items(index_t num_items, int num_threads, const Body& body) {
  const int threads = num_items >= kMinParallelItems ? resolve_threads(num_threads) : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (index_t item = 0; item < num_items; ++item) {
    body(static_cast<uindex_t>(item));
  }
}

template <typename T>
qc::complex<T>* as_qc(std::complex<T>* pointer) {
  return reinterpret_cast<qc::complex<T>*>(pointer);
}

template <typename T>
const qc::complex<T>* as_qc(const std::complex<T>* pointer) {
  return reinterpret_cast<const qc::complex<T>*>(pointer);
}

// A core's L2 cache in bytes, as the C library reports it; 256 KiB where it does not.
inline long l2_cache_bytes() {
#if defined(_SC_LEVEL2_CACHE_SIZE)
  const long reported = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (reported > 0) {
    return reported;
  }
#endif
  return 256L << 10;
}

// The width of the blocks a cache-blocked run works on for amplitudes of `itemsize`
// bytes: half a core's L2 cache, so that a block and the op data stay in it.
inline int cache_block_bits(size_t itemsize) {
  const long block_bytes = l2_cache_bytes() / 2;
  int bits = 0;
  while ((static_cast<long>(itemsize) << (bits + 1)) <= block_bytes) {
    ++bits;
  }
  return bits;
}

}  // namespace qc_cpu
