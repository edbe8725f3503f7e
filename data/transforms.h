/// \file
/// Per-image transforms of the CIFAR-10 study, on one (3, 32, 32) image at a time.
///
/// The order is torchvision's RandomCrop(32, padding) -> RandomHorizontalFlip() ->
/// ToTensor() -> Normalize(mean, std): the random transforms work on the uint8
/// pixels, so a padded pixel is 0 before normalization (and -mean/std after it),
/// exactly as in PyTorch.
#pragma once

#include <array>
#include <cstdint>

#include "minidl/core/rng.h"

namespace minidl::data {

/// ToTensor() then Normalize(mean, stddev), per channel c, in float32:
///   output = (float(pixel) / 255.0f - mean[c]) / stddev[c]
/// The same operations in the same order as PyTorch, so the results are bit-identical.
struct Normalize {
  std::array<float, 3> mean;    ///< per channel (R, G, B), subtracted
  std::array<float, 3> stddev;  ///< per channel, divided by
};

/// The study's constants (the CIFAR-10 training set's per-channel mean and a commonly used std).
inline constexpr Normalize kCifar10Normalize = {{0.4914f, 0.4822f, 0.4465f}, {0.2023f, 0.1994f, 0.2010f}};
/// The study's "no preprocessing" run: ToTensor() alone, pixel / 255 (subtracting 0 and
/// dividing by 1 are exact, so this is bit-identical to skipping Normalize).
inline constexpr Normalize kNoNormalize = {{0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}};

/// image (3, H, W) uint8 -> output (3, H, W) float.
void normalize_image(const std::uint8_t* image, int height, int width, const Normalize& normalize, float* output);

/// Random data augmentation; both off by default.
struct Augmentation {
  int crop_padding = 0;          ///< RandomCrop(H, padding=crop_padding) when > 0
  bool horizontal_flip = false;  ///< RandomHorizontalFlip(p=0.5)
};

/// The (3, H, W) window of image zero-padded by `padding` pixels on every side whose
/// top-left corner is (top, left) in the padded image, 0 <= top, left <= 2 * padding:
///   output[c, y, x] = image[c, y + top - padding, x + left - padding], or 0 outside the image.
void crop_image(const std::uint8_t* image, int height, int width, int padding, int top, int left,
                std::uint8_t* output);

/// Mirrors a (3, H, W) image left to right, in place.
void flip_image_horizontally(std::uint8_t* image, int height, int width);

/// Applies augmentation to image (3, H, W), writing output (3, H, W). Draws from
/// generator, in this order: the crop's top and left, each uniform in
/// [0, 2 * crop_padding], when crop_padding > 0; then whether to flip (probability 1/2)
/// when horizontal_flip is set. With neither, copies the image and draws nothing.
void augment_image(const std::uint8_t* image, int height, int width, const Augmentation& augmentation,
                   Generator& generator, std::uint8_t* output);

}  // namespace minidl::data
