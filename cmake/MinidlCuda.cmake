# Decides the CUDA flavour and wires it into the library.
#
# MINIDL_CUDA_MODE ends up as one of: off, real, emulated.
# With no GPU present and no CMAKE_CUDA_ARCHITECTURES given, real CUDA builds
# for 80;90 (A100, H100): "native" would fail on a machine without a GPU.

set(MINIDL_CUDA_MODE off)
if(MINIDL_CUDA_EMU)
  set(MINIDL_CUDA_MODE emulated)
  message(STATUS "minidl: CUDA code is built against the host CUDA emulator (MINIDL_CUDA_EMU=ON)")
elseif(MINIDL_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(MINIDL_CUDA_MODE real)
  else()
    message(STATUS "minidl: CUDA is off: no nvcc found (CPU-only build)")
  endif()
else()
  message(STATUS "minidl: CUDA is off (MINIDL_CUDA=OFF, CPU-only build)")
endif()

if(MINIDL_CUDA_MODE STREQUAL "real")
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    execute_process(COMMAND nvidia-smi -L RESULT_VARIABLE minidl_smi_result OUTPUT_QUIET ERROR_QUIET)
    if(minidl_smi_result EQUAL 0)
      set(CMAKE_CUDA_ARCHITECTURES native)
    else()
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "minidl: real CUDA build for architectures ${CMAKE_CUDA_ARCHITECTURES} (CUDA ${CUDAToolkit_VERSION})")
endif()

# Adds the flavour's CUDA sources, definitions and libraries to target.
function(minidl_configure_cuda target)
  if(MINIDL_CUDA_MODE STREQUAL "off")
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/cuda_unavailable.cpp)
  elseif(MINIDL_CUDA_MODE STREQUAL "real")
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/cuda_runtime.cpp)
    set_source_files_properties(${PROJECT_SOURCE_DIR}/core/cuda_runtime.cpp PROPERTIES LANGUAGE CUDA)
    target_compile_definitions(${target} PUBLIC MINIDL_WITH_CUDA=1)
    # cudart loads the driver (libcuda) at run time: binaries start and list
    # their tests on a machine without a GPU driver.
    target_link_libraries(${target} PUBLIC CUDA::cudart)
  elseif(MINIDL_CUDA_MODE STREQUAL "emulated")
    message(FATAL_ERROR "minidl: the emulated CUDA flavour is not implemented yet")
  endif()
endfunction()
