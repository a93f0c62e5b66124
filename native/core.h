// The addon's shared machinery: the per-environment handle table, argument conversion and error translation.
// Tensors cross into JavaScript as small integer handles into a slab, not as wrapper objects: creating a JS object
// from native code is what made the probe's per-call overhead exceed Python's.
#pragma once

#define NAPI_VERSION 8
#include <node_api.h>
#include <torch/torch.h>

#include <cstdint>
#include <c10/util/Optional.h>
#include <string>
#include <vector>

namespace reposer {

// One per Node environment (main thread or worker), so the addon is context-aware.
struct Context {
  std::vector<at::Tensor> slots;
  std::vector<int32_t> free_slots;
  int64_t live = 0;
  int64_t live_bytes = 0;
  int64_t unreported_bytes = 0;  // batched into napi_adjust_external_memory

  int32_t put(napi_env env, at::Tensor t);
  at::Tensor& get(int32_t handle);
  void release(napi_env env, int32_t handle);
  void report(napi_env env, int64_t delta);
};

// Thrown by argument converters; the op wrapper turns it into a JS error naming the op.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The error for an N-API call that returned `status`, naming the call and N-API's reason (read at once, before
// another call replaces it). napi_check throws it unless status is napi_ok; REPOSER_GUARD turns it into a JS error.
ArgError napi_error(napi_env env, napi_status status, const char* call);
void napi_check(napi_env env, napi_status status, const char* call);

Context* context_of(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv);

at::Tensor& arg_tensor(napi_env env, Context* ctx, napi_value v, const char* name);
c10::optional<at::Tensor> arg_opt_tensor(napi_env env, Context* ctx, napi_value v, const char* name);
at::Tensor arg_tensor_or_scalar(napi_env env, Context* ctx, napi_value v, const char* name);
std::vector<at::Tensor> arg_tensor_list(napi_env env, Context* ctx, napi_value v, const char* name);
std::vector<c10::optional<at::Tensor>> arg_opt_tensor_list(napi_env env, Context* ctx, napi_value v, const char* name);
int64_t arg_int(napi_env env, napi_value v, const char* name);
c10::optional<int64_t> arg_opt_int(napi_env env, napi_value v, const char* name);
std::vector<int64_t> arg_int_list(napi_env env, napi_value v, const char* name);
c10::optional<std::vector<int64_t>> arg_opt_int_list(napi_env env, napi_value v, const char* name);
double arg_double(napi_env env, napi_value v, const char* name);
c10::optional<double> arg_opt_double(napi_env env, napi_value v, const char* name);
std::vector<double> arg_double_list(napi_env env, napi_value v, const char* name);
bool arg_bool(napi_env env, napi_value v, const char* name);
at::Scalar arg_scalar(napi_env env, napi_value v, const char* name);
c10::optional<at::Scalar> arg_opt_scalar(napi_env env, napi_value v, const char* name);
std::string arg_string(napi_env env, napi_value v, const char* name);
at::ScalarType arg_dtype(napi_env env, napi_value v, const char* name);
c10::optional<at::ScalarType> arg_opt_dtype(napi_env env, napi_value v, const char* name);
at::Device arg_device(napi_env env, napi_value v, const char* name);
bool is_nullish(napi_env env, napi_value v);

napi_value ret_tensor(napi_env env, Context* ctx, at::Tensor t);
// An array of handles; a tensor that is not defined becomes -1.
napi_value ret_tensor_list(napi_env env, Context* ctx, const std::vector<at::Tensor>& ts);
napi_value ret_double(napi_env env, double v);
napi_value ret_int(napi_env env, int64_t v);
napi_value ret_bool(napi_env env, bool v);
napi_value ret_int_list(napi_env env, at::IntArrayRef v);
napi_value ret_string(napi_env env, const std::string& s);
napi_value ret_undefined(napi_env env);

template <typename... Ts>
napi_value ret_tuple(napi_env env, Context* ctx, const std::tuple<Ts...>& t) {
  std::vector<at::Tensor> ts;
  std::apply([&](const auto&... x) { (ts.push_back(x), ...); }, t);
  return ret_tensor_list(env, ctx, ts);
}

// Converts the current exception into a pending JS error that names the op and the shapes of its tensor inputs.
// tensor_args is a bitmask over argv marking the tensor-valued arguments.
// arg_names is the comma-separated argument list, used to label the shapes.
napi_value throw_op_error(napi_env env, Context* ctx, const char* op, const char* arg_names, napi_value* argv,
                          size_t argc, uint64_t tensor_args, const char* what);

std::string describe_tensor(const at::Tensor& t);

using Registration = void (*)(napi_env env, napi_value exports, Context* ctx);
void define(napi_env env, napi_value exports, Context* ctx, const char* name, napi_callback cb);

void register_core(napi_env env, napi_value exports, Context* ctx);
void register_generated_0(napi_env env, napi_value exports, Context* ctx);
void register_generated_1(napi_env env, napi_value exports, Context* ctx);
void register_distributed(napi_env env, napi_value exports, Context* ctx);

}  // namespace reposer

// Every native entry point runs its body inside this, so no C++ exception ever crosses into V8 raw.
// A null ctx means context_of failed and has already raised the JS error.
#define REPOSER_GUARD(op, names, tensor_mask, ...)                                             \
  if (ctx == nullptr) return nullptr;                                                      \
  try {                                                                                    \
    __VA_ARGS__                                                                            \
  } catch (const c10::Error& e) {                                                          \
    return ::reposer::throw_op_error(env, ctx, op, names, argv, argc, tensor_mask,            \
                                     e.what_without_backtrace());                          \
  } catch (const std::exception& e) {                                                      \
    return ::reposer::throw_op_error(env, ctx, op, names, argv, argc, tensor_mask, e.what());   \
  }
