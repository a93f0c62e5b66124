// Data-parallel training over libtorch's own c10d layer: one process group per process (Gloo on CPU), reached
// through a FileStore (one machine) or a TCPStore (several). Only what the trainer needs is exposed: all-reduce of
// gradients in buckets, broadcast of weights, and a barrier. Built only when Gloo's headers exist (Debian's
// libgloo-dev); otherwise every entry point says how to get them.
#include "core.h"

#include <torch/version.h>

#ifdef REPOSER_GLOO
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/autograd/custom_function.h>
#endif

#include <chrono>
#include <map>

namespace reposer {
namespace {

#ifdef REPOSER_GLOO
// One group per process: ranks are processes, and Node's worker threads never train in parallel ranks.
c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
std::mutex group_mutex;

c10d::ProcessGroupGloo& current_group(const char* op) {
  if (!group) throw std::runtime_error(std::string(op) + ": no process group; call distInit first");
  return *group;
}

// "file:/path" (every rank on this machine opens the same file) or "tcp:host:port" (rank 0 serves the store).
c10::intrusive_ptr<c10d::Store> open_store(const std::string& spec, int rank, int world_size,
                                            std::chrono::milliseconds timeout) {
  if (spec.rfind("file:", 0) == 0) return c10::make_intrusive<c10d::FileStore>(spec.substr(5), world_size);
  if (spec.rfind("tcp:", 0) == 0) {
    std::string rest = spec.substr(4);
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) throw ArgError("store '" + spec + "' must be tcp:HOST:PORT");
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1)));
    opts.isServer = rank == 0;
    opts.numWorkers = world_size;
    opts.waitWorkers = true;
    opts.timeout = timeout;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    // 2.4 made the libuv server the default, and a libtorch built without libuv (Debian's 2.6) then refuses to
    // open any TCPStore. The classic server is in every build and is plenty for the few ranks one job runs.
    opts.useLibUV = false;
#endif
    return c10::make_intrusive<c10d::TCPStore>(rest.substr(0, colon), opts);
  }
  throw ArgError("store '" + spec + "' must be file:PATH or tcp:HOST:PORT");
}

void wait_all(std::vector<c10::intrusive_ptr<c10d::Work>>& works) {
  for (auto& w : works) w->wait();
}

at::Tensor summed_over_ranks(const at::Tensor& t, const char* op) {
  std::vector<at::Tensor> one{t.detach().clone(at::MemoryFormat::Contiguous)};
  current_group(op).allreduce(one)->wait();
  return one[0];
}

// The sum over the ranks as an autograd node: its backward sums the incoming gradients over the ranks too, since every
// rank's loss depends on every rank's input through the sum. Synchronised batch norm reduces its statistics with it,
// so the cross-rank terms of the input gradient arrive without a hand-written backward. Every rank must run the same
// forwards and backwards in the same order, as it must for the gradient all-reduce anyway.
struct SumOverRanks : public torch::autograd::Function<SumOverRanks> {
  static at::Tensor forward(torch::autograd::AutogradContext*, const at::Tensor& input) {
    return summed_over_ranks(input, "distSumOverRanks");
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*, torch::autograd::variable_list grads) {
    return {summed_over_ranks(grads[0], "distSumOverRanks (backward)")};
  }
};
#else
[[noreturn]] void no_gloo(const char* op) {
  throw std::runtime_error(std::string(op) +
                           ": reposer was built without Gloo, so data-parallel training is unavailable; install "
                           "Debian's libgloo-dev (scripts/setup.sh does) and rebuild with `make native`");
}
#endif

// distInit(store, rank, worldSize, timeoutMs): joins the group; returns when every rank has joined.
napi_value dist_init(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("distInit", "store,rank,worldSize,timeoutMs", 0, {
    std::string spec = arg_string(env, argv[0], "store");
    int rank = static_cast<int>(arg_int(env, argv[1], "rank"));
    int world_size = static_cast<int>(arg_int(env, argv[2], "worldSize"));
    auto timeout = std::chrono::milliseconds(arg_int(env, argv[3], "timeoutMs"));
    if (world_size < 1 || rank < 0 || rank >= world_size) {
      throw ArgError("rank " + std::to_string(rank) + " is outside a world of size " + std::to_string(world_size));
    }
#ifdef REPOSER_GLOO
    std::lock_guard<std::mutex> lock(group_mutex);
    if (group) throw std::runtime_error("distInit: this process already joined a group; call distDestroy first");
    auto store = open_store(spec, rank, world_size, timeout);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* host = std::getenv("REPOSER_DIST_HOST");
    options->devices.push_back(host ? c10d::ProcessGroupGloo::createDeviceForHostname(host)
                                    : c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;
    group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
    return ret_undefined(env);
#else
    no_gloo("distInit");
#endif
  })
}

// distAllReduceMean(tensors, bucketBytes): replaces each tensor by its mean over the ranks. Tensors are packed into
// flat buckets of at most bucketBytes (one all-reduce per bucket, all in flight together), as DDP buckets them.
napi_value dist_all_reduce_mean(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("distAllReduceMean", "tensors,bucketBytes", 0, {
    std::vector<at::Tensor> tensors = arg_tensor_list(env, ctx, argv[0], "tensors");
    int64_t bucket_bytes = arg_int(env, argv[1], "bucketBytes");
#ifdef REPOSER_GLOO
    auto& pg = current_group("distAllReduceMean");
    at::NoGradGuard no_grad;
    // Buckets hold one dtype each; a tensor larger than the cap gets a bucket of its own.
    std::vector<std::vector<size_t>> buckets;
    std::map<at::ScalarType, size_t> open;
    std::vector<int64_t> bytes;
    for (size_t i = 0; i < tensors.size(); i++) {
      const at::Tensor& t = tensors[i];
      int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
      auto it = open.find(t.scalar_type());
      if (it == open.end() || bytes[it->second] + size > bucket_bytes) {
        buckets.push_back({});
        bytes.push_back(0);
        open[t.scalar_type()] = buckets.size() - 1;
        it = open.find(t.scalar_type());
      }
      buckets[it->second].push_back(i);
      bytes[it->second] += size;
    }
    std::vector<at::Tensor> flats;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& b : buckets) {
      std::vector<at::Tensor> parts;
      for (size_t i : b) parts.push_back(tensors[i].reshape({-1}));
      std::vector<at::Tensor> flat{at::cat(parts)};
      works.push_back(pg.allreduce(flat));
      flats.push_back(flat[0]);
    }
    wait_all(works);
    double scale = 1.0 / pg.getSize();
    for (size_t k = 0; k < buckets.size(); k++) {
      int64_t offset = 0;
      for (size_t i : buckets[k]) {
        at::Tensor& t = tensors[i];
        t.copy_(flats[k].narrow(0, offset, t.numel()).view(t.sizes()).mul(scale));
        offset += t.numel();
      }
    }
    return ret_undefined(env);
#else
    no_gloo("distAllReduceMean");
#endif
  })
}

// distSumOverRanks(tensor): a new tensor, the sum of `tensor` over the ranks, differentiable (see SumOverRanks).
napi_value dist_sum_over_ranks(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("distSumOverRanks", "tensor", 1, {
    at::Tensor& input = arg_tensor(env, ctx, argv[0], "tensor");
#ifdef REPOSER_GLOO
    current_group("distSumOverRanks");
    return ret_tensor(env, ctx, SumOverRanks::apply(input));
#else
    no_gloo("distSumOverRanks");
#endif
  })
}

// distBroadcast(tensors, root): every rank's tensors take root's values (in place).
napi_value dist_broadcast(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("distBroadcast", "tensors,root", 0, {
    std::vector<at::Tensor> tensors = arg_tensor_list(env, ctx, argv[0], "tensors");
    int root = static_cast<int>(arg_int(env, argv[1], "root"));
#ifdef REPOSER_GLOO
    auto& pg = current_group("distBroadcast");
    at::NoGradGuard no_grad;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      works.push_back(pg.broadcast(one, opts));
    }
    wait_all(works);
    return ret_undefined(env);
#else
    no_gloo("distBroadcast");
#endif
  })
}

napi_value dist_barrier(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("distBarrier", "", 0, {
#ifdef REPOSER_GLOO
    current_group("distBarrier").barrier()->wait();
    return ret_undefined(env);
#else
    no_gloo("distBarrier");
#endif
  })
}

napi_value dist_destroy(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("distDestroy", "", 0, {
#ifdef REPOSER_GLOO
    std::lock_guard<std::mutex> lock(group_mutex);
    group.reset();
#endif
    return ret_undefined(env);
  })
}

napi_value dist_available(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("distAvailable", "", 0, {
#ifdef REPOSER_GLOO
    return ret_bool(env, true);
#else
    return ret_bool(env, false);
#endif
  })
}

}  // namespace

void register_distributed(napi_env env, napi_value exports, Context* ctx) {
  define(env, exports, ctx, "distInit", dist_init);
  define(env, exports, ctx, "distAllReduceMean", dist_all_reduce_mean);
  define(env, exports, ctx, "distSumOverRanks", dist_sum_over_ranks);
  define(env, exports, ctx, "distBroadcast", dist_broadcast);
  define(env, exports, ctx, "distBarrier", dist_barrier);
  define(env, exports, ctx, "distDestroy", dist_destroy);
  define(env, exports, ctx, "distAvailable", dist_available);
}

}  // namespace reposer
