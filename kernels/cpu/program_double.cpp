// run_program for double amplitudes: a translation unit of its own, compiled in parallel
// with the other precision's.
#include "program_launchers.hpp"

namespace qc_cpu {

template void run_program<double>(StateArray<double>, int, index_t, OpArray, ConstComplexArray<double>,
                               IndexArray, index_t, index_t, int, int);

template index_t program_passes<double>(int, index_t, OpArray, int);

}  // namespace qc_cpu
