// Specification of minidl::Tensor: shapes, dtypes, views, copies, fills, printing, errors.
#include <cmath>

#include "minidl/core/tensor.h"
#include "test_support.h"

using namespace minidl;

TEST_CASE("a shape knows its rank and sizes and element count") {
  Shape shape{10, 3, 32, 32};
  REQUIRE(shape.rank() == 4);
  REQUIRE(shape[1] == 3);
  REQUIRE(shape.numel() == 10 * 3 * 32 * 32);
  REQUIRE(shape.str() == "(10, 3, 32, 32)");
  REQUIRE(Shape{}.numel() == 1);
  REQUIRE(Shape{2, 0}.numel() == 0);
}

TEST_CASE("a shape rejects more than four dimensions and negative sizes") {
  REQUIRE_THROWS_MINIDL((Shape{1, 2, 3, 4, 5}), "at most 4 dimensions");
  REQUIRE_THROWS_MINIDL((Shape{2, -1}), "non-negative");
}

TEST_CASE("a new tensor has the requested shape and dtype and device") {
  for (DType dtype : {DType::f32, DType::f64, DType::u8, DType::i32, DType::i64}) {
    Tensor t = Tensor::zeros({2, 3}, dtype);
    REQUIRE(t.defined());
    REQUIRE(t.shape() == Shape{2, 3});
    REQUIRE(t.dtype() == dtype);
    REQUIRE(t.device() == Device::cpu());
    REQUIRE(t.nbytes() == 6 * dtype_size(dtype));
  }
  REQUIRE_FALSE(Tensor().defined());
}

TEST_CASE("cpu tensors are 64-byte aligned") {
  Tensor t = Tensor::empty({7});
  REQUIRE(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64 == 0);
}

TEST_CASE("full and from_vector set every element") {
  Tensor t = Tensor::full({2, 2}, 1.5);
  REQUIRE(t.to_vector<float>() == std::vector<float>{1.5f, 1.5f, 1.5f, 1.5f});
  Tensor v = Tensor::from_vector<std::int32_t>({3}, {1, -2, 3});
  REQUIRE(v.dtype() == DType::i32);
  REQUIRE(v.data<std::int32_t>()[1] == -2);
  REQUIRE_THROWS_MINIDL(Tensor::from_vector<float>({2, 2}, {1.0f}), "needs 4 values, got 1");
}

TEST_CASE("data<T> refuses a type that is not the tensor's dtype") {
  Tensor t = Tensor::zeros({3}, DType::f32);
  REQUIRE_THROWS_MINIDL(t.data<double>(), "expected dtype f64, got f32");
}

TEST_CASE("size accepts negative dimensions and rejects out-of-range ones") {
  Tensor t = Tensor::zeros({4, 5, 6});
  REQUIRE(t.size(-1) == 6);
  REQUIRE(t.size(0) == 4);
  REQUIRE_THROWS_MINIDL(t.size(3), "out of range");
}

TEST_CASE("reshape flatten and slice are views that share storage") {
  Tensor t = Tensor::from_vector<float>({2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor flat = t.flatten(1);
  REQUIRE(flat.shape() == Shape{2, 6});
  Tensor all = t.reshape({12});
  all.data<float>()[5] = 50.0f;
  REQUIRE(t.data<float>()[5] == 50.0f);
  REQUIRE(flat.data<float>()[5] == 50.0f);

  Tensor second = t.slice(1, 2);
  REQUIRE(second.shape() == Shape{1, 2, 3});
  REQUIRE(second.data<float>()[0] == 6.0f);
  second.fill_(-1.0);
  REQUIRE(t.data<float>()[6] == -1.0f);
  REQUIRE(t.data<float>()[5] == 50.0f);

  REQUIRE_THROWS_MINIDL(t.reshape({5, 2}), "cannot view (2, 2, 3) (12 elements) as (5, 2)");
  REQUIRE_THROWS_MINIDL(t.slice(1, 3), "out of range");
  REQUIRE_THROWS_MINIDL(t.flatten(3), "out of range");
}

TEST_CASE("clone copies the data so later writes do not reach the original") {
  Tensor t = Tensor::full({3}, 2.0);
  Tensor copy = t.clone();
  copy.fill_(7.0);
  REQUIRE(t.to_vector<float>() == std::vector<float>{2.0f, 2.0f, 2.0f});
}

TEST_CASE("copy_from checks shape and dtype") {
  Tensor dst = Tensor::zeros({2, 3});
  REQUIRE_THROWS_MINIDL(dst.copy_from(Tensor::zeros({3, 2})), "expected shape (2, 3), got (3, 2)");
  REQUIRE_THROWS_MINIDL(dst.copy_from(Tensor::zeros({2, 3}, DType::f64)), "expected dtype f32, got f64");
  dst.copy_from(Tensor::full({2, 3}, 4.0));
  REQUIRE(dst.data<float>()[5] == 4.0f);
}

TEST_CASE("item returns the one element and refuses more") {
  REQUIRE(Tensor::full({1}, 3.0, DType::i64).item<std::int64_t>() == 3);
  REQUIRE_THROWS_MINIDL(Tensor::zeros({2}).item<float>(), "expected one element");
}

TEST_CASE("uniform_ stays between low and high and has the right mean") {
  Generator generator(42);
  Tensor t = Tensor::empty({100000});
  t.uniform_(-2.0, 3.0, generator);
  double sum = 0;
  for (float v : t.to_vector<float>()) {
    REQUIRE(v >= -2.0f);
    REQUIRE(v < 3.0f);
    sum += v;
  }
  REQUIRE(sum / t.numel() == Approx(0.5).margin(0.03));
}

TEST_CASE("normal_ has the requested mean and standard deviation") {
  for (DType dtype : {DType::f32, DType::f64}) {
    Generator generator(7);
    Tensor t = Tensor::empty({100001}, dtype);
    t.normal_(1.0, 2.0, generator);
    Tensor d = dtype == DType::f64 ? t : Tensor::empty({1});
    std::vector<double> values;
    if (dtype == DType::f64) {
      values = t.to_vector<double>();
    } else {
      for (float v : t.to_vector<float>()) values.push_back(v);
    }
    double sum = 0, sum_sq = 0;
    for (double v : values) {
      REQUIRE(std::isfinite(v));
      sum += v;
      sum_sq += v * v;
    }
    double mean = sum / values.size();
    double var = sum_sq / values.size() - mean * mean;
    REQUIRE(mean == Approx(1.0).margin(0.03));
    REQUIRE(std::sqrt(var) == Approx(2.0).margin(0.03));
  }
}

TEST_CASE("the same seed gives the same values and consecutive draws differ") {
  Generator a(123), b(123);
  Tensor x = Tensor::empty({10}), y = Tensor::empty({10});
  x.uniform_(0, 1, a);
  y.uniform_(0, 1, b);
  REQUIRE(x.to_vector<float>() == y.to_vector<float>());
  y.uniform_(0, 1, b);
  REQUIRE(x.to_vector<float>() != y.to_vector<float>());
}

TEST_CASE("random fills refuse integer tensors") {
  Generator generator(1);
  Tensor t = Tensor::zeros({3}, DType::i32);
  REQUIRE_THROWS_MINIDL(t.uniform_(0, 1, generator), "expected a floating-point tensor, got dtype i32");
}

TEST_CASE("a tensor prints its header and values and elides long dimensions") {
  Tensor t = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  REQUIRE(fmt::format("{}", t) ==
          "Tensor(shape=(2, 2), dtype=f32, device=cpu)\n[[1.0000, 2.0000],\n [3.0000, 4.0000]]");
  Tensor long_row = Tensor::from_vector<std::int32_t>({8}, {0, 1, 2, 3, 4, 5, 6, 7});
  REQUIRE(long_row.str() == "Tensor(shape=(8), dtype=i32, device=cpu)\n[0, 1, 2, ..., 5, 6, 7]");
}

TEST_CASE("a device string parses or is refused by name") {
  REQUIRE(parse_device("cpu") == Device::cpu());
  REQUIRE(parse_device("cuda") == Device::cuda(0));
  REQUIRE(parse_device("cuda:1") == Device::cuda(1));
  REQUIRE(Device::cuda(1).str() == "cuda:1");
  REQUIRE_THROWS_MINIDL(parse_device("gpu"), "expected \"cpu\", \"cuda\" or \"cuda:N\", got \"gpu\"");
  REQUIRE_THROWS_MINIDL(parse_device("cuda:x"), "got \"cuda:x\"");
}

TEST_CASE("a cuda tensor without a usable GPU throws one clear sentence") {
  if (cuda_is_available()) {
    Tensor t = Tensor::full({3}, 2.0, DType::f32, Device::cuda());
    REQUIRE(t.to(Device::cpu()).to_vector<float>() == std::vector<float>{2.0f, 2.0f, 2.0f});
    return;
  }
  REQUIRE_THROWS_MINIDL(Tensor::zeros({3}, DType::f32, Device::cuda()), cuda_unavailable_reason());
}

TEST_CASE("a tensor copied to cuda and back is unchanged") {
  if (testing::skip_unless_cuda()) return;
  Tensor host = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor device = host.to(Device::cuda());
  REQUIRE(device.device() == Device::cuda());
  Tensor copy = device.clone();
  REQUIRE(copy.to(Device::cpu()).to_vector<float>() == host.to_vector<float>());
}

TEST_CASE("to a dtype converts every element as static_cast does") {
  Tensor t = Tensor::from_vector<double>({3}, {1.5, -2.25, 3.0});
  REQUIRE(t.to(DType::f32).to_vector<float>() == std::vector<float>{1.5f, -2.25f, 3.0f});
  REQUIRE(t.to(DType::i32).to_vector<std::int32_t>() == std::vector<std::int32_t>{1, -2, 3});
  REQUIRE(t.to(DType::f64).data<double>() != t.data<double>());
}
