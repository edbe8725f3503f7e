# Decides the CUDA flavour and wires it into the library.
#
# MINIDL_CUDA_MODE ends up as one of: off, real, emulated.
#   real      kernels/cuda/*.cu compiled by nvcc; cuBLAS, and cuDNN when found.
#   emulated  the same .cu sources compiled as C++ by the host compiler against
#             minidl's CUDA emulator (core/emulator/, docs/emulator.md).
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

# Sources of the CUDA flavours. The kernels are compiled by nvcc (real) or as C++ (emulated).
set(MINIDL_CUDA_RUNTIME_SOURCES
  ${PROJECT_SOURCE_DIR}/core/cuda_runtime.cpp)
set(MINIDL_CUDA_KERNEL_SOURCES
  ${PROJECT_SOURCE_DIR}/kernels/cuda/batch_norm2d.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/batch_norm2d_split.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/bias.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/conv2d.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/conv2d_blocked.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/cross_entropy.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/cublas_ops.cpp
  ${PROJECT_SOURCE_DIR}/kernels/cuda/divergence_check.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/elementwise.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/gather_normalize.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/im2col.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/linear.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/linear_blocked.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/max_pool2d.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/registrations.cpp
  ${PROJECT_SOURCE_DIR}/kernels/cuda/reduce.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/relu.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/sgd.cu
  ${PROJECT_SOURCE_DIR}/kernels/cuda/step_metrics.cu)
# The cuDNN implementations (host code calling cuDNN): real builds with cuDNN only.
set(MINIDL_CUDNN_SOURCES
  ${PROJECT_SOURCE_DIR}/kernels/cudnn/batch_norm2d.cpp
  ${PROJECT_SOURCE_DIR}/kernels/cudnn/conv2d.cpp
  ${PROJECT_SOURCE_DIR}/kernels/cudnn/cudnn_support.cpp
  ${PROJECT_SOURCE_DIR}/kernels/cudnn/registrations.cpp)
set(MINIDL_CUDA_EMULATOR_SOURCES
  ${PROJECT_SOURCE_DIR}/core/emulator/cublas.cpp
  ${PROJECT_SOURCE_DIR}/core/emulator/launch.cpp
  ${PROJECT_SOURCE_DIR}/core/emulator/runtime.cpp)

# minidl_find_nvidia_library(PREFIX HEADER PIP_FOLDER LIBRARY_NAME...): one of NVIDIA's
# libraries (cuDNN, NCCL) in the CUDA toolkit, the system, or PyTorch's pip packages
# (site-packages/nvidia/PIP_FOLDER, which may ship only a versioned library such as
# libcudnn.so.9). Sets the cache variables MINIDL_<PREFIX>_INCLUDE_DIR and
# MINIDL_<PREFIX>_LIBRARY, which a user may set to point at another copy.
function(minidl_find_nvidia_library prefix header pip_folder)
  set(hints ${CUDAToolkit_LIBRARY_ROOT} ${CUDAToolkit_TARGET_DIR})
  foreach(dir IN LISTS minidl_site_packages)
    list(APPEND hints ${dir}/nvidia/${pip_folder})
  endforeach()
  find_path(MINIDL_${prefix}_INCLUDE_DIR ${header} HINTS ${CUDAToolkit_INCLUDE_DIRS} ${hints} PATH_SUFFIXES include)
  find_library(MINIDL_${prefix}_LIBRARY NAMES ${ARGN} HINTS ${CUDAToolkit_LIBRARY_DIR} ${hints}
    PATH_SUFFIXES lib lib64)
endfunction()

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
  # CMake 3.25 does not know nvcc's C++20 flag yet (nvcc 12 and later take -std=c++20).
  if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "minidl: real CUDA build for architectures ${CMAKE_CUDA_ARCHITECTURES} (CUDA ${CUDAToolkit_VERSION})")

  # Where PyTorch's pip packages may hold NVIDIA's libraries (site-packages/nvidia/...).
  find_package(Python3 COMPONENTS Interpreter QUIET)
  if(Python3_Interpreter_FOUND)
    execute_process(
      COMMAND ${Python3_EXECUTABLE} -c "import site; print(';'.join(site.getsitepackages() + [site.getusersitepackages()]))"
      OUTPUT_VARIABLE minidl_site_packages OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  # cuDNN (pip's nvidia/cudnn ships only the versioned libcudnn.so.9).
  minidl_find_nvidia_library(CUDNN cudnn.h cudnn cudnn libcudnn.so.9)
  if(MINIDL_CUDNN_INCLUDE_DIR AND MINIDL_CUDNN_LIBRARY)
    set(MINIDL_WITH_CUDNN ON)
    message(STATUS "minidl: cuDNN found: ${MINIDL_CUDNN_LIBRARY}")
  else()
    set(MINIDL_WITH_CUDNN OFF)
    message(STATUS "minidl: cuDNN not found: building without the cuDNN path "
                   "(set MINIDL_CUDNN_INCLUDE_DIR and MINIDL_CUDNN_LIBRARY to point at it)")
  endif()
endif()

# Adds the flavour's CUDA sources, definitions and libraries to target.
function(minidl_configure_cuda target)
  if(MINIDL_CUDA_MODE STREQUAL "off")
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/cuda_unavailable.cpp)
  elseif(MINIDL_CUDA_MODE STREQUAL "real")
    target_sources(${target} PRIVATE ${MINIDL_CUDA_RUNTIME_SOURCES} ${MINIDL_CUDA_KERNEL_SOURCES})
    target_compile_definitions(${target} PUBLIC MINIDL_WITH_CUDA=1)
    # cudart loads the driver (libcuda) at run time, and cuBLAS and cuDNN do not link
    # it either: binaries start and list their tests on a machine without a GPU driver.
    target_link_libraries(${target} PUBLIC CUDA::cudart CUDA::cublas)
    if(MINIDL_WITH_CUDNN)
      target_sources(${target} PRIVATE ${MINIDL_CUDNN_SOURCES})
      target_compile_definitions(${target} PUBLIC MINIDL_WITH_CUDNN=1)
      target_include_directories(${target} PUBLIC ${MINIDL_CUDNN_INCLUDE_DIR})
      target_link_libraries(${target} PUBLIC ${MINIDL_CUDNN_LIBRARY})
    endif()
  elseif(MINIDL_CUDA_MODE STREQUAL "emulated")
    target_sources(${target} PRIVATE ${MINIDL_CUDA_RUNTIME_SOURCES} ${MINIDL_CUDA_EMULATOR_SOURCES}
      ${MINIDL_CUDA_KERNEL_SOURCES})
    set_source_files_properties(${MINIDL_CUDA_KERNEL_SOURCES} PROPERTIES LANGUAGE CXX)
    target_compile_definitions(${target} PUBLIC MINIDL_WITH_CUDA=1 MINIDL_CUDA_EMULATOR=1)
  endif()
endfunction()
