// bench_ops_naive_conv2d (README.md): bench/bench_ops with "naive" registered first, so
// that bench_ops lists and times it beside the library's conv2d implementations.
// bench_ops.cpp is compiled into this program with its main renamed bench_ops_main
// (CMakeLists.txt); this main registers, then runs it. Registering from a static
// initializer instead would fill the registry before the library's own static lists of
// dtypes are constructed (the order of static initialization across files is unspecified).
#include "naive_conv2d.h"

int bench_ops_main(int argc, char** argv);

int main(int argc, char** argv) {
  minidl::exercises::register_naive_conv2d();
  return bench_ops_main(argc, argv);
}
