// bench_ops_naive_conv2d (README.md): bench/bench_ops with "naive" added to the registry
// before it runs, so that bench_ops lists and times it beside the library's conv2d
// implementations. bench_ops.cpp is compiled into this program with its main renamed
// bench_ops_main (CMakeLists.txt); this main registers, then runs it. A static initializer
// would serve as well (since 6dd3b57 the registry's dtype lists are built on first use,
// whichever file's static initialization comes first); the call in main keeps the order in
// plain sight and is the same call the exercise's test makes.
#include "naive_conv2d.h"

int bench_ops_main(int argc, char** argv);

int main(int argc, char** argv) {
  minidl::exercises::register_naive_conv2d();
  return bench_ops_main(argc, argv);
}
