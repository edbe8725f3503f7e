/// \file
/// Device: where a tensor's memory lives, the host (CPU) or a CUDA GPU.
///
/// minidl is built in one of three flavours (see README): CPU-only, real CUDA,
/// or emulated CUDA (CUDA kernels run on the host, for testing without a GPU).
/// The functions below tell which one this is and whether a GPU can be used.
#pragma once

#include <string>

namespace minidl {

/// The kind of device: the host or a CUDA GPU.
enum class DeviceType { CPU, CUDA };

/// A device: its type and, for CUDA, the GPU's index.
struct Device {
  DeviceType type = DeviceType::CPU;  ///< the host or a CUDA GPU
  int index = 0;                      ///< the GPU's index; 0 for the CPU

  /// The host.
  static Device cpu() { return {DeviceType::CPU, 0}; }
  /// CUDA GPU number index.
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }

  /// True for the host.
  bool is_cpu() const { return type == DeviceType::CPU; }
  /// True for a CUDA GPU.
  bool is_cuda() const { return type == DeviceType::CUDA; }
  /// Same type and index.
  bool operator==(const Device&) const = default;

  /// "cpu" or "cuda:0"
  std::string str() const;
};

/// Parses "cpu", "cuda" or "cuda:N"; throws Error naming the bad string.
Device parse_device(const std::string& text);

/// True when this build has a CUDA implementation (real or emulated).
bool cuda_is_built();
/// True when this build runs CUDA code on the host through the emulator.
bool cuda_is_emulated();
/// True when a CUDA device can be used now (always true when emulated).
bool cuda_is_available();
/// One sentence saying why CUDA cannot be used ("" when it can), e.g.
/// "minidl was built without CUDA" or "no CUDA GPU: CUDA driver version is insufficient".
std::string cuda_unavailable_reason();
/// Throws Error("<op>: <reason>") unless CUDA can be used.
void require_cuda(const std::string& op);

}  // namespace minidl
