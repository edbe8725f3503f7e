#include "minidl/data/transforms.h"

#include <algorithm>
#include <cstring>

#include "minidl/core/error.h"

namespace minidl::data {

namespace {
constexpr int kChannels = 3;
}

void normalize_image(const std::uint8_t* image, int height, int width, const Normalize& normalize, float* output) {
  const int pixels = height * width;
  for (int c = 0; c < kChannels; ++c) {
    const float mean = normalize.mean[c], stddev = normalize.stddev[c];
    for (int p = 0; p < pixels; ++p) {
      // doc:data-normalize
      output[c * pixels + p] = (static_cast<float>(image[c * pixels + p]) / 255.0f - mean) / stddev;
    }
  }
}

void crop_image(const std::uint8_t* image, int height, int width, int padding, int top, int left,
                std::uint8_t* output) {
  if (top < 0 || top > 2 * padding || left < 0 || left > 2 * padding)
    fail("crop_image: corner ({}, {}) is outside [0, {}] for padding {}", top, left, 2 * padding, padding);
  const int shift_y = top - padding, shift_x = left - padding;  // output (y, x) shows image (y + shift_y, x + shift_x)
  for (int c = 0; c < kChannels; ++c) {
    const std::uint8_t* plane = image + c * height * width;
    std::uint8_t* output_plane = output + c * height * width;
    for (int y = 0; y < height; ++y) {
      const int source_y = y + shift_y;
      for (int x = 0; x < width; ++x) {
        const int source_x = x + shift_x;
        const bool inside = source_y >= 0 && source_y < height && source_x >= 0 && source_x < width;
        output_plane[y * width + x] = inside ? plane[source_y * width + source_x] : 0;
      }
    }
  }
}

void flip_image_horizontally(std::uint8_t* image, int height, int width) {
  for (int row = 0; row < kChannels * height; ++row) std::reverse(image + row * width, image + (row + 1) * width);
}

void augment_image(const std::uint8_t* image, int height, int width, const Augmentation& augmentation,
                   Generator& generator, std::uint8_t* output) {
  const int padding = augmentation.crop_padding;
  if (padding > 0) {
    const auto top = static_cast<int>(generator.next_below(2 * padding + 1));
    const auto left = static_cast<int>(generator.next_below(2 * padding + 1));
    crop_image(image, height, width, padding, top, left, output);
  } else {
    std::memcpy(output, image, static_cast<std::size_t>(kChannels) * height * width);
  }
  if (augmentation.horizontal_flip && generator.next_below(2) == 1) flip_image_horizontally(output, height, width);
}

}  // namespace minidl::data
