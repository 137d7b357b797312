// Host/device portability: function qualifiers, index types and a plain complex type.
//
// Every kernel body in this directory is compiled twice: by NVRTC (through CuPy) for
// the GPU and by the host C++ compiler for the CPU extension. Nothing here may depend
// on the C++ standard library, which NVRTC does not provide.
#pragma once

#if !defined(__CUDACC__)
#include <cmath>
#endif

#if defined(__CUDACC__)
#define QC_HD __host__ __device__ __forceinline__
#define QC_UNROLL _Pragma("unroll")
#define QC_SIMD
#else
#define QC_HD inline
#define QC_UNROLL _Pragma("GCC unroll 32")
// Marks a loop whose iterations touch disjoint amplitudes, so that the CPU compiler may
// run them in SIMD lanes without run-time alias checks. On the GPU such loops run once
// per thread (count 1) and need no hint. Not `omp simd`: GCC turns the local arrays of
// an `omp simd` body into per-lane arrays that it then fails to vectorize.
#if defined(__clang__)
#define QC_SIMD _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define QC_SIMD _Pragma("GCC ivdep")
#else
#define QC_SIMD
#endif
#endif

namespace qc {

using index_t = long long;
using uindex_t = unsigned long long;

// A complex number laid out as (real, imaginary), like numpy/CuPy complex64/complex128.
// Arithmetic is written out by hand so that compilers vectorize it and apply no
// special-case handling for infinities (the "limited range" product).
template <typename T>
struct alignas(2 * sizeof(T)) complex {
  T re;
  T im;
};

template <typename T>
QC_HD complex<T> cmul(complex<T> a, complex<T> b) {
  return complex<T>{a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}

template <typename T>
QC_HD complex<T> cadd(complex<T> a, complex<T> b) {
  return complex<T>{a.re + b.re, a.im + b.im};
}

// a + b * c, the multiply-accumulate of a matrix-vector product.
template <typename T>
QC_HD complex<T> cfma(complex<T> a, complex<T> b, complex<T> c) {
  return complex<T>{a.re + b.re * c.re - b.im * c.im, a.im + b.re * c.im + b.im * c.re};
}

template <typename T>
QC_HD T cnorm(complex<T> a) {
  return a.re * a.re + a.im * a.im;
}

// The square root: CUDA's device function under NVRTC, the C library's on the host.
QC_HD double square_root(double x) {
#if defined(__CUDACC__)
  return sqrt(x);
#else
  return std::sqrt(x);
#endif
}

}  // namespace qc
