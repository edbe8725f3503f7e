// Data parallel (distributed/): the communicators and DistributedDataParallel's semantics.
//
// CTest runs this binary twice: as one process, and under `mpirun -np 2` (tests/CMakeLists.txt),
// where every rank runs every case and the collectives meet. Each case holds for any number
// of ranks N: with one, data parallel is one process. On the CPU the communicator is MPI's;
// on CUDA (emulated here, a GPU elsewhere) NCCL's, or in the emulated flavour minidl's
// NCCL stand-in, which carries each collective over MPI.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "minidl/core/error.h"
#include "minidl/core/safetensors.h"
#include "minidl/distributed/communicator.h"
#include "minidl/distributed/data_parallel.h"
#include "minidl/distributed/nccl_communicator.h"
#include "minidl/layers/cross_entropy_loss.h"
#include "minidl/layers/networks.h"
#include "minidl/layers/sequential.h"
#include "minidl/optim/divergence_guard.h"
#include "minidl/optim/sgd.h"
#include "separable_cifar10.h"
#include "small_study_step.h"
#include "study.h"
#include "test_support.h"
#include "training.h"

// Under AddressSanitizer this binary runs without LeakSanitizer: Open MPI's plugins leave
// allocations at exit that LeakSanitizer reports, from modules MPI_Finalize has unloaded
// (so no suppression can name them). ASan's memory checks and UBSan stay on.
#if defined(__SANITIZE_ADDRESS__)
#define MINIDL_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MINIDL_UNDER_ASAN 1
#endif
#endif
#if defined(MINIDL_UNDER_ASAN)
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

using namespace minidl;
using distributed::Communicator;
using distributed::DataParallel;
namespace fs = std::filesystem;


namespace {

// One communicator per device for the whole process (MPI starts once per process).
Communicator* communicator_for(Device device) {
  static std::unique_ptr<Communicator> cpu, cuda;
  std::unique_ptr<Communicator>& slot = device.is_cuda() ? cuda : cpu;
  if (!slot) slot = distributed::make_communicator(device);
  return slot.get();
}

// A case needs the backend of its device in this build; prints "skipped: ..." otherwise.
bool skip_unless_backend(Device device) {
  if (device.is_cuda() && testing::skip_unless_cuda()) return true;
  if (distributed::has_backend(device)) return false;
  Catch::cout() << "skipped: minidl was built without the " << (device.is_cuda() ? "NCCL" : "MPI")
                << " backend\n";
  return true;
}

// The study's network (32x32 images), or a small one of the study's layers (4x4 images)
// that the emulator runs in a moment (small_study_step.h). Initial weights from seed.
struct NetSpec {
  bool study_net = false;
  bool batch_norm = false;
  std::int64_t image_side() const { return study_net ? 32 : 4; }
  // On the CPU.
  std::unique_ptr<nn::Sequential> make(std::uint64_t seed) const {
    if (!study_net) return testing::small_study_net(batch_norm, seed, Device::cpu());
    Generator generator(seed);
    return nn::make_study_net(batch_norm, generator);
  }
};

// Global batch number `step` of `rows` images: the same on every rank (its own seed).
data::Batch host_batch(int step, std::int64_t rows, std::int64_t side) {
  Generator generator(1000 + static_cast<std::uint64_t>(step));
  Tensor images = Tensor::empty({rows, 3, side, side});
  images.uniform_(-1.0, 1.0, generator);
  Tensor uniform = Tensor::empty({rows});
  uniform.uniform_(0.0, 10.0, generator);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i) labels[i] = static_cast<std::int32_t>(uniform.data<float>()[i]);
  return {images, Tensor::from_vector<std::int32_t>({rows}, labels)};
}

// What a training run leaves: the loss after each step (the global batch's mean) and
// every parameter's final values, in order.
struct Trained {
  std::vector<double> losses;
  std::vector<float> parameters;
  std::vector<float> buffers;  // BatchNorm's running statistics, this rank's
};

// Trains `steps` steps of SGD (lr 0.1) at global batch `rows` with the study's step
// (study::TrainingStep), data parallel when communicator is given. Every rank makes its
// network from seed 1 + rank, so only rank 0's broadcast weights make them agree.
Trained train(const NetSpec& spec, Device device, Communicator* communicator, int steps, std::int64_t rows,
              bool graphs = false) {
  const int rank = communicator ? communicator->rank() : 0;
  std::unique_ptr<nn::Sequential> net = spec.make(1 + static_cast<std::uint64_t>(rank));
  net->to(device);
  std::unique_ptr<DataParallel> replica = communicator ? std::make_unique<DataParallel>(*net, *communicator) : nullptr;
  nn::CrossEntropyLoss criterion;
  optim::SGD optimizer(net->parameters(), {.lr = 0.1});
  optim::DivergenceGuard guard(net->parameters(), device);
  study::DeviceSums sums({}, device);
  study::TrainingStep step(*net, criterion, optimizer, guard, sums, graphs, replica.get());
  // At fixed addresses, as the loader serves batches (a CUDA graph reads each new one there).
  data::Batch batch{Tensor::empty({rows, 3, spec.image_side(), spec.image_side()}, DType::f32, device),
                    Tensor::empty({rows}, DType::i32, device)};
  Trained trained;
  study::PassResult before;
  for (int s = 0; s < steps; ++s) {
    const data::Batch next = host_batch(s, rows, spec.image_side());
    batch.images.copy_from(next.images);
    batch.labels.copy_from(next.labels);
    step.run(batch);
    study::PassResult after;
    sums.read_into(after);
    trained.losses.push_back(after.total_loss - before.total_loss);
    before = after;
  }
  for (const nn::Parameter* parameter : net->parameters()) {
    const std::vector<float> values = parameter->value.to(Device::cpu()).to_vector<float>();
    trained.parameters.insert(trained.parameters.end(), values.begin(), values.end());
  }
  for (const nn::Buffer* buffer : net->buffers()) {
    if (buffer->value.dtype() != DType::f32) continue;
    const std::vector<float> values = buffer->value.to(Device::cpu()).to_vector<float>();
    trained.buffers.insert(trained.buffers.end(), values.begin(), values.end());
  }
  return trained;
}

// Rank 0's values on every rank (to compare a rank's results with rank 0's).
std::vector<float> rank0s(Communicator& communicator, const std::vector<float>& values) {
  Tensor tensor = Tensor::from_vector<float>({static_cast<std::int64_t>(values.size())}, values,
                                            communicator.device());
  communicator.broadcast(tensor, 0);
  return tensor.to(Device::cpu()).to_vector<float>();
}

// Every step's loss and every final parameter agree within float32 rounding over 20 steps.
void require_close(const Trained& data_parallel, const Trained& one_process) {
  REQUIRE(data_parallel.losses.size() == one_process.losses.size());
  for (std::size_t s = 0; s < one_process.losses.size(); ++s) {
    INFO("step " << s);
    REQUIRE(data_parallel.losses[s] == Approx(one_process.losses[s]).epsilon(1e-5));
  }
  REQUIRE(data_parallel.parameters.size() == one_process.parameters.size());
  double largest = 0;
  for (std::size_t i = 0; i < one_process.parameters.size(); ++i)
    largest = std::max(largest, static_cast<double>(std::abs(data_parallel.parameters[i] - one_process.parameters[i])));
  INFO("largest parameter difference " << largest);
  REQUIRE(largest < 1e-4);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("the MPI communicator sums averages and broadcasts CPU tensors in place", "[mpi]") {
  if (skip_unless_backend(Device::cpu())) return;
  Communicator& communicator = *communicator_for(Device::cpu());
  const int n = communicator.size(), rank = communicator.rank();
  REQUIRE(communicator.backend() == "mpi");
  REQUIRE(distributed::launcher_world_size() == n);

  Tensor values = Tensor::from_vector<float>({3}, {1.0f * (rank + 1), 2.0f, -1.0f * rank});
  communicator.all_reduce(values, distributed::Reduction::sum);
  const float rank_sum = static_cast<float>(n * (n + 1) / 2), rank_total = static_cast<float>(n * (n - 1) / 2);
  REQUIRE(values.to_vector<float>() == std::vector<float>{rank_sum, 2.0f * n, -rank_total});

  Tensor doubles = Tensor::full({2}, 3.0 * (rank + 1), DType::f64);
  communicator.all_reduce(doubles, distributed::Reduction::average);
  REQUIRE(doubles.to_vector<double>()[1] == Approx(3.0 * (n + 1) / 2));

  Tensor counts = Tensor::full({1}, rank, DType::i64);
  communicator.broadcast(counts, n - 1);
  REQUIRE(counts.item<std::int64_t>() == n - 1);
  REQUIRE(communicator.sum(rank + 1) == n * (n + 1) / 2);
}

TEST_CASE("a communicator refuses a tensor it cannot reduce and names why", "[mpi]") {
  if (skip_unless_backend(Device::cpu())) return;
  Communicator& communicator = *communicator_for(Device::cpu());
  Tensor bytes = Tensor::zeros({4}, DType::u8);
  REQUIRE_THROWS_WITH(communicator.all_reduce(bytes, distributed::Reduction::sum),
                      Catch::Contains("reduces f32, f64, i32 or i64 tensors, not u8"));
  Tensor counts = Tensor::zeros({4}, DType::i64);
  REQUIRE_THROWS_WITH(communicator.all_reduce(counts, distributed::Reduction::average),
                      Catch::Contains("not an integer"));
  REQUIRE_THROWS_WITH(communicator.broadcast(counts, communicator.size()), Catch::Contains("is not a rank"));
  if (cuda_is_available()) {
    Tensor on_gpu = Tensor::zeros({4}, DType::f32, Device::cuda());
    REQUIRE_THROWS_WITH(communicator.all_reduce(on_gpu, distributed::Reduction::sum),
                        Catch::Contains("reduces CPU tensors"));
  }
}

TEST_CASE("each rank takes its contiguous share of a global batch and an uneven split is refused", "[mpi]") {
  if (skip_unless_backend(Device::cpu())) return;
  Communicator& communicator = *communicator_for(Device::cpu());
  const int n = communicator.size(), rank = communicator.rank();
  std::unique_ptr<nn::Sequential> net = NetSpec{}.make(1);
  DataParallel replica(*net, communicator);

  const std::int64_t rows = 4 * n;
  std::vector<std::int32_t> labels(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i) labels[i] = static_cast<std::int32_t>(i);
  const data::Batch global{Tensor::zeros({rows, 3, 4, 4}), Tensor::from_vector<std::int32_t>({rows}, labels)};
  const data::Batch shard = replica.shard(global);
  REQUIRE(shard.images.shape() == Shape({4, 3, 4, 4}));
  REQUIRE(shard.labels.to_vector<std::int32_t>() ==
          std::vector<std::int32_t>{4 * rank, 4 * rank + 1, 4 * rank + 2, 4 * rank + 3});

  if (n > 1) {
    const data::Batch odd{Tensor::zeros({rows + 1, 3, 4, 4}), Tensor::zeros({rows + 1}, DType::i32)};
    REQUIRE_THROWS_WITH(replica.shard(odd), Catch::Contains("does not split evenly over"));
  }
  REQUIRE_NOTHROW(distributed::check_even_shards(50000, 100, 2));
  REQUIRE_THROWS_WITH(distributed::check_even_shards(50000, 100, 3), Catch::Contains("does not divide by the 3 ranks"));
  REQUIRE_THROWS_WITH(distributed::check_even_shards(1010, 100, 4),
                      Catch::Contains("the last batch of an epoch (10 of 1010 images"));
  REQUIRE_NOTHROW(distributed::check_even_shards(1020, 100, 4));
}

TEST_CASE("data parallel at global batch 100 matches one process at batch 100 over 20 steps on the CPU", "[mpi]") {
  if (skip_unless_backend(Device::cpu())) return;
  Communicator& communicator = *communicator_for(Device::cpu());
  const NetSpec study_net{.study_net = true};
  const Trained data_parallel = train(study_net, Device::cpu(), &communicator, 20, 100);
  const Trained one_process = train(study_net, Device::cpu(), nullptr, 20, 100);
  require_close(data_parallel, one_process);
  // Every replica took the same steps: the same bits as rank 0's.
  REQUIRE(same_bits(data_parallel.parameters, rank0s(communicator, data_parallel.parameters)));
}

TEST_CASE("one all-reduce a step carries every gradient of the study's network and the loss", "[mpi]") {
  // docs/distributed.md: 52,874 gradients and the loss, 211,500 bytes a step.
  if (skip_unless_backend(Device::cpu())) return;
  Communicator& communicator = *communicator_for(Device::cpu());
  std::unique_ptr<nn::Sequential> net = NetSpec{.study_net = true}.make(1);
  const DataParallel replica(*net, communicator);
  REQUIRE(replica.reduced_elements() == 52'875);
  std::unique_ptr<nn::Sequential> with_batch_norm = NetSpec{.study_net = true, .batch_norm = true}.make(1);
  REQUIRE(DataParallel(*with_batch_norm, communicator).reduced_elements() == 53'067);
}

TEST_CASE("two data-parallel runs with the same ranks give the same bits", "[mpi]") {
  if (skip_unless_backend(Device::cpu())) return;
  Communicator& communicator = *communicator_for(Device::cpu());
  const NetSpec small{.batch_norm = true};
  const Trained first = train(small, Device::cpu(), &communicator, 10, 8);
  const Trained second = train(small, Device::cpu(), &communicator, 10, 8);
  REQUIRE(first.losses == second.losses);
  REQUIRE(same_bits(first.parameters, second.parameters));
}

TEST_CASE("with batch norm each rank normalises its shard with its own statistics and keeps rank 0's running ones", "[mpi]") {
  if (skip_unless_backend(Device::cpu())) return;
  Communicator& communicator = *communicator_for(Device::cpu());
  const int n = communicator.size();
  const std::int64_t rows = 4 * n;
  const data::Batch global = host_batch(0, rows, 4);

  // The first step's loss is the mean over ranks of each shard's loss, each shard
  // normalised with its own batch statistics as one process would normalise that shard alone.
  nn::CrossEntropyLoss criterion;
  double expected = 0;
  for (int r = 0; r < n; ++r) {
    std::unique_ptr<nn::Sequential> alone = NetSpec{.batch_norm = true}.make(1);
    const Tensor images = global.images.slice(4 * r, 4 * r + 4), labels = global.labels.slice(4 * r, 4 * r + 4);
    expected += criterion.forward(alone->forward(images), labels).item<float>() / n;
  }
  const Trained data_parallel = train(NetSpec{.batch_norm = true}, Device::cpu(), &communicator, 1, rows);
  REQUIRE(data_parallel.losses[0] == Approx(expected).epsilon(1e-6));

  // Each rank's running statistics move with its own shard; the next training forward
  // starts from rank 0's.
  std::unique_ptr<nn::Sequential> net = NetSpec{.batch_norm = true}.make(1);
  DataParallel replica(*net, communicator);
  net->forward(replica.shard(global).images);
  replica.broadcast_buffers();
  for (nn::Buffer* buffer : net->buffers()) {
    if (buffer->value.dtype() != DType::f32) continue;
    const std::vector<float> mine = buffer->value.to_vector<float>();
    INFO(buffer->name);
    REQUIRE(same_bits(mine, rank0s(communicator, mine)));
  }
}

namespace {

// A new folder that every rank sees under one name: rank 0 makes it, the name reaches
// the others through the communicator.
fs::path shared_temporary_directory(Communicator& communicator) {
  constexpr std::int64_t kLength = 256;
  std::vector<std::int32_t> name(kLength, 0);
  if (communicator.rank() == 0) {
    std::string path = (fs::temp_directory_path() / "minidl-distributed-XXXXXX").string();
    REQUIRE(::mkdtemp(path.data()) != nullptr);
    REQUIRE(path.size() < kLength);
    std::copy(path.begin(), path.end(), name.begin());
  }
  Tensor characters = Tensor::from_vector<std::int32_t>({kLength}, name);
  communicator.broadcast(characters, 0);
  std::string path;
  for (std::int32_t c : characters.to_vector<std::int32_t>())
    if (c != 0) path.push_back(static_cast<char>(c));
  return path;
}

}  // namespace

TEST_CASE("a data-parallel run stopped mid-epoch at one rank's request resumes to the bits of a run never stopped", "[mpi]") {
  // The study's run_study on every rank: a stop that only the last rank asks for stops
  // every rank after the same step, rank 0 writes the checkpoint, every rank resumes from
  // it (the epoch's correct count so far counted once), and the run ends as one never
  // stopped: the same epoch lines and loss bits on every rank, the same model on rank 0.
  if (skip_unless_backend(Device::cpu())) return;
  Communicator& communicator = *communicator_for(Device::cpu());
  const fs::path dir = shared_temporary_directory(communicator);
  constexpr std::int64_t kRecords = 40;  // 200 training images: 10 steps of 20 an epoch
  if (communicator.rank() == 0) testing::write_separable_cifar10(dir / "data", kRecords);
  communicator.sum(0);  // the data is written before any rank reads it
  const data::Cifar10 train_split = data::load_cifar10((dir / "data").string(), data::Split::train, kRecords);
  const data::Cifar10 test_split = data::load_cifar10((dir / "data").string(), data::Split::test, kRecords);
  const study::RunSpec& spec = study::find_run("large_batch");
  const study::Output silent{.line = [](const std::string&) {}, .progress = [](const std::string&) {}};
  study::StudyOptions options{.epochs = 2, .batch_size = 20, .communicator = &communicator};

  options.output_dir = (dir / "whole").string();
  const study::RunResult whole = study::run_study(spec, train_split, test_split, options, silent);

  options.output_dir = (dir / "stopped").string();
  int steps = 0;
  const bool asks = communicator.rank() == communicator.size() - 1;
  options.stop_requested = [&] { return asks && ++steps == 13; };  // after epoch 1's third step
  const study::RunResult stopped = study::run_study(spec, train_split, test_split, options, silent);
  REQUIRE(stopped.interrupted);
  REQUIRE(stopped.interrupted->epoch == 1);
  REQUIRE(stopped.interrupted->steps_done == 3);

  options.stop_requested = nullptr;
  options.resume = true;
  const study::RunResult resumed = study::run_study(spec, train_split, test_split, options, silent);
  REQUIRE(resumed.epochs.size() == whole.epochs.size());
  for (std::size_t e = 0; e < whole.epochs.size(); ++e) {
    REQUIRE(study::epoch_line(resumed.epochs[e]) == study::epoch_line(whole.epochs[e]));
    REQUIRE(resumed.epochs[e].train.total_loss == whole.epochs[e].train.total_loss);
  }
  if (communicator.rank() == 0) {
    const SafetensorsFile want = load_safetensors(whole.model_path), got = load_safetensors(resumed.model_path);
    for (const auto& [name, tensor] : want.tensors) {
      INFO(name);
      REQUIRE(testing::bitwise_equal(tensor, got.tensors.at(name)));
    }
    REQUIRE(resumed.test.correct == whole.test.correct);
  }
  communicator.sum(0);  // every rank is done with the folder
  if (communicator.rank() == 0) fs::remove_all(dir);
}

TEST_CASE("data parallel matches one process over 20 steps on CUDA through NCCL with the step as a CUDA graph", "[nccl]") {
  if (skip_unless_backend(Device::cuda())) return;
  Communicator& communicator = *communicator_for(Device::cuda());
  REQUIRE(communicator.backend() == "nccl");
  // The small network at global batch 10 per rank: the emulator takes seconds a step on
  // the study's network at batch 100 (the CPU case above runs that).
  const NetSpec small{};
  const std::int64_t rows = 10 * communicator.size();
  // The graph captures the all-reduce with the rest of the step (after TrainingStep's eager steps).
  const Trained graphed = train(small, Device::cuda(), &communicator, 20, rows, /*graphs=*/true);
  const Trained one_process = train(small, Device::cuda(), nullptr, 20, rows);
  require_close(graphed, one_process);
  REQUIRE(same_bits(graphed.parameters, rank0s(communicator, graphed.parameters)));
}

TEST_CASE("data parallel on CUDA with batch norm gives the same bits eager and as a CUDA graph", "[nccl]") {
  // The replayed graph broadcasts rank 0's running statistics before each forward as the
  // eager step does: the running statistics, which no loss depends on, come out the same.
  if (skip_unless_backend(Device::cuda())) return;
  Communicator& communicator = *communicator_for(Device::cuda());
  const Trained graphed = train(NetSpec{.batch_norm = true}, Device::cuda(), &communicator, 6, 4 * communicator.size(),
                                /*graphs=*/true);
  const Trained eager = train(NetSpec{.batch_norm = true}, Device::cuda(), &communicator, 6, 4 * communicator.size());
  REQUIRE(graphed.losses == eager.losses);
  REQUIRE(same_bits(graphed.parameters, eager.parameters));
  REQUIRE_FALSE(eager.buffers.empty());
  REQUIRE(same_bits(graphed.buffers, eager.buffers));
}

TEST_CASE("a one-rank NCCL communicator bootstrapped in this process trains as one process does", "[nccl]") {
  // What gpu-check runs on one GPU, without mpirun: ncclGetUniqueId, then ncclCommInitRank
  // with one rank; the step, with its collectives, captured as a CUDA graph.
  if (testing::skip_unless_cuda()) return;
  if (!distributed::has_nccl()) {
    Catch::cout() << "skipped: minidl was built without NCCL\n";
    return;
  }
  std::unique_ptr<Communicator> alone = distributed::make_single_process_nccl_communicator();
  REQUIRE(alone->size() == 1);
  REQUIRE(alone->rank() == 0);
  for (const bool batch_norm : {false, true}) {
    INFO("batch norm " << batch_norm);
    const Trained data_parallel = train(NetSpec{.batch_norm = batch_norm}, Device::cuda(), alone.get(), 6, 8, true);
    const Trained one_process = train(NetSpec{.batch_norm = batch_norm}, Device::cuda(), nullptr, 6, 8, true);
    REQUIRE(data_parallel.losses == one_process.losses);
    REQUIRE(same_bits(data_parallel.parameters, one_process.parameters));
  }
}
