// bench_ops_naive_conv2d (README.md): bench/bench_ops with "naive" added to the registry
// before its main runs, by this file's static initialization (the registry can be used
// then: tests/test_registry.cpp checks it), so that bench_ops lists and times it beside
// the library's conv2d implementations, last in conv2d's list.
#include "naive_conv2d.h"

namespace {

const bool naive_registered = (minidl::exercises::register_naive_conv2d(), true);

}  // namespace
