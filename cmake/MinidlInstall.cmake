# `cmake --install` puts the public headers under include/minidl/, the library under lib/,
# and a package config, so that another project can
#   find_package(minidl REQUIRED)
#   target_link_libraries(app PRIVATE minidl::minidl)   # and minidl::distributed for data parallel
# and include <minidl/core/tensor.h>: the include path it gets holds minidl/ and nothing
# else. Only the headers of the installed flavour travel, each of which compiles on its
# own there (CI's install step checks): a CPU-only install has no header that needs
# CUDA; a real CUDA install none of the emulator's; the *.cuh headers, which only .cu
# sources include, never.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# minidl_install_headers(FOLDER [EXCLUDE file...]): FOLDER's own *.h files.
function(minidl_install_headers folder)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "EXCLUDE")
  file(GLOB headers RELATIVE ${PROJECT_SOURCE_DIR}/${folder} ${PROJECT_SOURCE_DIR}/${folder}/*.h)
  list(REMOVE_ITEM headers ${arg_EXCLUDE})
  list(TRANSFORM headers PREPEND ${PROJECT_SOURCE_DIR}/${folder}/)
  install(FILES ${headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/minidl/${folder})
endfunction()

if(MINIDL_CUDA_MODE STREQUAL "off")
  minidl_install_headers(core EXCLUDE cuda_api.h)
else()
  minidl_install_headers(core)
  minidl_install_headers(kernels/cuda)
endif()
if(MINIDL_CUDA_MODE STREQUAL "emulated")
  minidl_install_headers(core/emulator)
endif()
if(MINIDL_WITH_CUDNN)
  minidl_install_headers(kernels/cudnn)
endif()
foreach(folder kernels kernels/cpu layers optim data)
  minidl_install_headers(${folder})
endforeach()
# minidl::distributed: its public headers (not the backends' own).
minidl_install_headers(distributed EXCLUDE mpi_world.h nccl_emulator.h)

install(TARGETS minidl minidl_distributed EXPORT minidlTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT minidlTargets NAMESPACE minidl:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/minidl)

configure_package_config_file(cmake/minidlConfig.cmake.in
  ${PROJECT_BINARY_DIR}/minidlConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/minidl)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/minidlConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/minidlConfig.cmake ${PROJECT_BINARY_DIR}/minidlConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/minidl)
