#include "exercise.h"

#include "minidl/core/error.h"

namespace minidl::exercises {

void not_implemented(const char* what, const char* folder) {
  fail("{}: not implemented yet: exercise docs/exercises/{}/README.md", what, folder);
}

}  // namespace minidl::exercises
