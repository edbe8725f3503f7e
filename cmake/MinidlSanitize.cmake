# MINIDL_SANITIZE: sanitizers for every C++ target of the build, e.g.
#   -DMINIDL_SANITIZE=thread              races (with the CUDA emulator: between CUDA threads)
#   -DMINIDL_SANITIZE=address,undefined   out-of-bounds accesses, leaks, undefined behaviour
# The first error ends the program with a non-zero status, so a test that triggers one fails.
set(MINIDL_SANITIZE "" CACHE STRING "Sanitizers to build with (-fsanitize=...), e.g. thread or address,undefined")

if(MINIDL_SANITIZE)
  message(STATUS "minidl: building with -fsanitize=${MINIDL_SANITIZE}")
  add_compile_options(
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${MINIDL_SANITIZE}>
    $<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize-recover=all>
    $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>)
  add_link_options(-fsanitize=${MINIDL_SANITIZE})
endif()
