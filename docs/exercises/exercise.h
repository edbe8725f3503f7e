// What the exercises' skeletons share: the error a function that is still to be
// written throws, so that the exercise's test builds and fails with a message that
// names the exercise. Free of fmt (unlike core/error.h), so that nvcc can compile the
// skeleton kernels that include it.
#pragma once

namespace minidl::exercises {

// Throws minidl::Error "WHAT: not implemented yet: exercise docs/exercises/FOLDER/README.md".
[[noreturn]] void not_implemented(const char* what, const char* folder);

}  // namespace minidl::exercises
