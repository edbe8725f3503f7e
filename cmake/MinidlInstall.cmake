# `cmake --install` puts the public headers under include/minidl/, the library
# under lib/, and a package config so that another project can
#   find_package(minidl REQUIRED)
#   target_link_libraries(app PRIVATE minidl::minidl)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(dir core kernels layers optim data)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${dir})
    install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/minidl/${dir}
      FILES_MATCHING PATTERN "*.h" PATTERN "*.cuh")
  endif()
endforeach()

install(TARGETS minidl EXPORT minidlTargets
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
