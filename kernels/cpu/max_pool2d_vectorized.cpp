#include "minidl/kernels/cpu/max_pool2d_vectorized.h"

#include <cstring>

namespace minidl::cpu {

namespace {

// Four floats or four indices: one SSE register. GCC's vector extensions give them
// elementwise operators, comparisons (to a mask of 0 or -1 per lane) and selects.
using Float4 = float __attribute__((vector_size(16)));
using Int4 = std::int32_t __attribute__((vector_size(16)));

Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename Vector, typename Scalar>
void store4(Scalar* p, Vector v) {
  std::memcpy(p, &v, sizeof v);
}

// One step of the reference's scan, in every lane: value at index replaces the
// maximum when it is greater, or NaN (then the window pools to NaN).
void take_if_greater(Float4 value, Int4 index, Float4& max_value, Int4& max_index) {
  const Int4 greater = (value > max_value) | (value != value);
  max_value = greater ? value : max_value;
  max_index = greater ? index : max_index;
}

void take_if_greater(float value, std::int32_t index, float& max_value, std::int32_t& max_index) {
  const bool greater = value > max_value || value != value;
  max_value = greater ? value : max_value;
  max_index = greater ? index : max_index;
}

// The 2 x 2 window, stride 2, over one plane of width W. The window at (oh, ow) is
// scanned in the reference's row-major order: (2oh, 2ow), (2oh, 2ow+1), (2oh+1, 2ow),
// (2oh+1, 2ow+1). Four windows take eight columns of each row: their even columns are
// the windows' left elements and their odd columns the right ones.
void max_pool_2x2_plane(const float* input, float* output, std::int32_t* indices, std::int64_t W, std::int64_t OH,
                        std::int64_t OW) {
  const auto width = static_cast<std::int32_t>(W);
  for (std::int64_t oh = 0; oh < OH; ++oh) {
    const float* top = input + 2 * oh * W;
    const float* bottom = top + W;
    const auto row_index = static_cast<std::int32_t>(2 * oh * W);
    float* output_row = output + oh * OW;
    std::int32_t* indices_row = indices + oh * OW;
    std::int64_t ow = 0;
    // doc:max_pool2d-forward
    for (; ow + 4 <= OW; ow += 4) {
      const auto w = static_cast<std::int32_t>(2 * ow);
      const Float4 top_low = load4(top + w), top_high = load4(top + w + 4);
      const Float4 bottom_low = load4(bottom + w), bottom_high = load4(bottom + w + 4);
      const Float4 top_left = __builtin_shufflevector(top_low, top_high, 0, 2, 4, 6);
      const Float4 top_right = __builtin_shufflevector(top_low, top_high, 1, 3, 5, 7);
      const Float4 bottom_left = __builtin_shufflevector(bottom_low, bottom_high, 0, 2, 4, 6);
      const Float4 bottom_right = __builtin_shufflevector(bottom_low, bottom_high, 1, 3, 5, 7);
      const Int4 top_left_index = row_index + w + Int4{0, 2, 4, 6};
      Float4 max_value = top_left;
      Int4 max_index = top_left_index;
      take_if_greater(top_right, top_left_index + 1, max_value, max_index);
      take_if_greater(bottom_left, top_left_index + width, max_value, max_index);
      take_if_greater(bottom_right, top_left_index + width + 1, max_value, max_index);
      store4(output_row + ow, max_value);
      store4(indices_row + ow, max_index);
    }
    for (; ow < OW; ++ow) {
      const auto w = static_cast<std::int32_t>(2 * ow);
      float max_value = top[w];
      std::int32_t max_index = row_index + w;
      take_if_greater(top[w + 1], row_index + w + 1, max_value, max_index);
      take_if_greater(bottom[w], row_index + width + w, max_value, max_index);
      take_if_greater(bottom[w + 1], row_index + width + w + 1, max_value, max_index);
      output_row[ow] = max_value;
      indices_row[ow] = max_index;
    }
  }
}

}  // namespace

void max_pool2d_forward_vectorized(const float* input, float* output, std::int32_t* indices,
                                   const MaxPool2dShape& shape) {
  if (shape.kernel_size != 2 || shape.stride != 2) {
    max_pool2d_forward(input, output, indices, shape);
    return;
  }
  const std::int64_t HW = shape.height * shape.width, OHW = shape.out_height * shape.out_width;
  for (std::int64_t plane = 0; plane < shape.batch * shape.channels; ++plane)
    max_pool_2x2_plane(input + plane * HW, output + plane * OHW, indices + plane * OHW, shape.width,
                       shape.out_height, shape.out_width);
}

}  // namespace minidl::cpu
