#include "core.h"

#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <malloc.h>
#include <sched.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <mutex>
#include <thread>

namespace reposer {

namespace {
constexpr int64_t kReportThreshold = 1 << 20;  // bytes of drift before telling V8


std::string shape_string(at::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i];
  o << "]";
  return o.str();
}

const char* dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(t);
  }
}
}  // namespace

int32_t Context::put(napi_env env, at::Tensor t) {
  int64_t bytes = t.defined() ? static_cast<int64_t>(t.numel() * t.element_size()) : 0;
  // Reported first: if telling V8 fails, nothing has been stored yet and the tensor is simply freed.
  report(env, bytes);
  int32_t h;
  if (!free_slots.empty()) {
    h = free_slots.back();
    free_slots.pop_back();
    slots[h] = std::move(t);
  } else {
    h = static_cast<int32_t>(slots.size());
    slots.push_back(std::move(t));
  }
  ++live;
  live_bytes += bytes;
  return h;
}

at::Tensor& Context::get(int32_t handle) {
  if (handle < 0 || static_cast<size_t>(handle) >= slots.size() || !slots[handle].defined())
    throw ArgError("handle " + std::to_string(handle) + " is not a live tensor (was it disposed?)");
  return slots[handle];
}

void Context::release(napi_env env, int32_t handle) {
  at::Tensor& t = get(handle);
  int64_t bytes = static_cast<int64_t>(t.numel() * t.element_size());
  // Reported first: if telling V8 fails, the handle stays live and the caller gets the error.
  report(env, -bytes);
  t = at::Tensor();
  free_slots.push_back(handle);
  --live;
  live_bytes -= bytes;
}

void Context::report(napi_env env, int64_t delta) {
  int64_t pending = unreported_bytes + delta;
  if (pending > kReportThreshold || pending < -kReportThreshold) {
    int64_t total = 0;
    napi_check(env, napi_adjust_external_memory(env, pending, &total), "napi_adjust_external_memory");
    pending = 0;
  }
  unreported_bytes = pending;
}

ArgError napi_error(napi_env env, napi_status status, const char* call) {
  std::string reason = "status " + std::to_string(static_cast<int>(status));
  const napi_extended_error_info* info = nullptr;
  if (napi_get_last_error_info(env, &info) == napi_ok && info != nullptr && info->error_message != nullptr)
    reason = std::string(info->error_message) + " (" + reason + ")";
  return ArgError(std::string("N-API call ") + call + " failed: " + reason);
}

void napi_check(napi_env env, napi_status status, const char* call) {
  if (status != napi_ok) throw napi_error(env, status, call);
}

Context* context_of(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  void* data = nullptr;
  napi_status status = napi_get_cb_info(env, info, argc, argv, nullptr, &data);
  if (status != napi_ok || data == nullptr) {
    // Outside any REPOSER_GUARD yet, so raise the JS error directly; the guard then returns at once (ctx is null).
    napi_throw_error(env, "ERR_NAPI", "N-API call napi_get_cb_info failed: the addon's context is unavailable");
    return nullptr;
  }
  return static_cast<Context*>(data);
}

static napi_valuetype type_of(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  if (v) napi_check(env, napi_typeof(env, v, &t), "napi_typeof");
  return t;
}

bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t = type_of(env, v);
  return t == napi_undefined || t == napi_null;
}

static bool is_array(napi_env env, napi_value v) {
  bool result = false;
  if (v) napi_check(env, napi_is_array(env, v, &result), "napi_is_array");
  return result;
}

static uint32_t array_length(napi_env env, napi_value v) {
  uint32_t n = 0;
  napi_check(env, napi_get_array_length(env, v, &n), "napi_get_array_length");
  return n;
}

static napi_value array_element(napi_env env, napi_value v, uint32_t i) {
  napi_value e;
  napi_check(env, napi_get_element(env, v, i, &e), "napi_get_element");
  return e;
}

at::Tensor& arg_tensor(napi_env env, Context* ctx, napi_value v, const char* name) {
  int32_t h;
  if (v == nullptr || napi_get_value_int32(env, v, &h) != napi_ok)
    throw ArgError(std::string("argument '") + name + "' must be a tensor");
  if (h == -1) throw ArgError(std::string("argument '") + name + "' is a disposed tensor");
  return ctx->get(h);
}

c10::optional<at::Tensor> arg_opt_tensor(napi_env env, Context* ctx, napi_value v, const char* name) {
  if (is_nullish(env, v)) return c10::nullopt;
  return arg_tensor(env, ctx, v, name);
}

at::Tensor arg_tensor_or_scalar(napi_env env, Context* ctx, napi_value v, const char* name) {
  napi_valuetype t = type_of(env, v);
  // Scalars travel boxed as {s: value} so they cannot be confused with handles.
  if (t == napi_object) {
    napi_value s;
    napi_check(env, napi_get_named_property(env, v, "s", &s), "napi_get_named_property");
    return at::native::wrapped_scalar_tensor(arg_scalar(env, s, name));
  }
  if (t == napi_boolean) return at::native::wrapped_scalar_tensor(arg_scalar(env, v, name));
  return arg_tensor(env, ctx, v, name);
}

std::vector<at::Tensor> arg_tensor_list(napi_env env, Context* ctx, napi_value v, const char* name) {
  if (!is_array(env, v)) throw ArgError(std::string("argument '") + name + "' must be an array of tensors");
  uint32_t n = array_length(env, v);
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) out.push_back(arg_tensor(env, ctx, array_element(env, v, i), name));
  return out;
}

std::vector<c10::optional<at::Tensor>> arg_opt_tensor_list(napi_env env, Context* ctx, napi_value v,
                                                           const char* name) {
  if (!is_array(env, v)) throw ArgError(std::string("argument '") + name + "' must be an array of tensors or nulls");
  uint32_t n = array_length(env, v);
  std::vector<c10::optional<at::Tensor>> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back(arg_opt_tensor(env, ctx, array_element(env, v, i), name));
  return out;
}

int64_t arg_int(napi_env env, napi_value v, const char* name) {
  double d;
  if (v == nullptr || napi_get_value_double(env, v, &d) != napi_ok)
    throw ArgError(std::string("argument '") + name + "' must be an integer");
  if (std::floor(d) != d) throw ArgError(std::string("argument '") + name + "' must be an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

c10::optional<int64_t> arg_opt_int(napi_env env, napi_value v, const char* name) {
  if (is_nullish(env, v)) return c10::nullopt;
  return arg_int(env, v, name);
}

std::vector<int64_t> arg_int_list(napi_env env, napi_value v, const char* name) {
  if (!is_array(env, v)) {
    if (type_of(env, v) == napi_number) return {arg_int(env, v, name)};
    throw ArgError(std::string("argument '") + name + "' must be an array of integers");
  }
  uint32_t n = array_length(env, v);
  std::vector<int64_t> out(n);
  for (uint32_t i = 0; i < n; ++i) out[i] = arg_int(env, array_element(env, v, i), name);
  return out;
}

c10::optional<std::vector<int64_t>> arg_opt_int_list(napi_env env, napi_value v, const char* name) {
  if (is_nullish(env, v)) return c10::nullopt;
  return arg_int_list(env, v, name);
}

double arg_double(napi_env env, napi_value v, const char* name) {
  double d;
  if (v == nullptr || napi_get_value_double(env, v, &d) != napi_ok)
    throw ArgError(std::string("argument '") + name + "' must be a number");
  return d;
}

c10::optional<double> arg_opt_double(napi_env env, napi_value v, const char* name) {
  if (is_nullish(env, v)) return c10::nullopt;
  return arg_double(env, v, name);
}

std::vector<double> arg_double_list(napi_env env, napi_value v, const char* name) {
  if (!is_array(env, v)) throw ArgError(std::string("argument '") + name + "' must be an array of numbers");
  uint32_t n = array_length(env, v);
  std::vector<double> out(n);
  for (uint32_t i = 0; i < n; ++i) out[i] = arg_double(env, array_element(env, v, i), name);
  return out;
}

bool arg_bool(napi_env env, napi_value v, const char* name) {
  bool b;
  if (v == nullptr || napi_get_value_bool(env, v, &b) != napi_ok)
    throw ArgError(std::string("argument '") + name + "' must be a boolean");
  return b;
}

at::Scalar arg_scalar(napi_env env, napi_value v, const char* name) {
  napi_valuetype t = type_of(env, v);
  if (t == napi_boolean) return at::Scalar(arg_bool(env, v, name));
  double d = arg_double(env, v, name);
  // JS has one number type; integral values become integer scalars so integer tensors stay integer.
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

c10::optional<at::Scalar> arg_opt_scalar(napi_env env, napi_value v, const char* name) {
  if (is_nullish(env, v)) return c10::nullopt;
  return arg_scalar(env, v, name);
}

std::string arg_string(napi_env env, napi_value v, const char* name) {
  size_t len;
  if (v == nullptr || napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok)
    throw ArgError(std::string("argument '") + name + "' must be a string");
  std::string s(len, '\0');
  napi_check(env, napi_get_value_string_utf8(env, v, s.data(), len + 1, &len), "napi_get_value_string_utf8");
  return s;
}

at::ScalarType arg_dtype(napi_env env, napi_value v, const char* name) {
  return static_cast<at::ScalarType>(arg_int(env, v, name));
}

c10::optional<at::ScalarType> arg_opt_dtype(napi_env env, napi_value v, const char* name) {
  if (is_nullish(env, v)) return c10::nullopt;
  return arg_dtype(env, v, name);
}

at::Device arg_device(napi_env env, napi_value v, const char* name) {
  if (is_nullish(env, v)) return at::Device(at::kCPU);
  return at::Device(arg_string(env, v, name));
}

napi_value ret_tensor(napi_env env, Context* ctx, at::Tensor t) {
  int32_t h = t.defined() ? ctx->put(env, std::move(t)) : -1;
  napi_value out;
  napi_status status = napi_create_int32(env, h, &out);
  if (status != napi_ok) {
    ArgError error = napi_error(env, status, "napi_create_int32");
    if (h >= 0) ctx->release(env, h);  // JS never receives the handle, so it would leak
    throw error;
  }
  return out;
}

napi_value ret_tensor_list(napi_env env, Context* ctx, const std::vector<at::Tensor>& ts) {
  napi_value arr;
  napi_check(env, napi_create_array_with_length(env, ts.size(), &arr), "napi_create_array_with_length");
  std::vector<int32_t> stored;
  try {
    for (size_t i = 0; i < ts.size(); ++i) {
      int32_t h = ts[i].defined() ? ctx->put(env, ts[i]) : -1;
      if (h >= 0) stored.push_back(h);
      napi_value v;
      napi_check(env, napi_create_int32(env, h, &v), "napi_create_int32");
      napi_check(env, napi_set_element(env, arr, i, v), "napi_set_element");
    }
  } catch (...) {
    // The array never reaches JS, so the handles in it would leak: give them back before the error goes up.
    for (int32_t h : stored) ctx->release(env, h);
    throw;
  }
  return arr;
}

napi_value ret_double(napi_env env, double v) {
  napi_value out;
  napi_check(env, napi_create_double(env, v, &out), "napi_create_double");
  return out;
}

napi_value ret_int(napi_env env, int64_t v) {
  napi_value out;
  napi_check(env, napi_create_int64(env, v, &out), "napi_create_int64");
  return out;
}

napi_value ret_bool(napi_env env, bool v) {
  napi_value out;
  napi_check(env, napi_get_boolean(env, v, &out), "napi_get_boolean");
  return out;
}

napi_value ret_int_list(napi_env env, at::IntArrayRef v) {
  napi_value arr;
  napi_check(env, napi_create_array_with_length(env, v.size(), &arr), "napi_create_array_with_length");
  for (size_t i = 0; i < v.size(); ++i) napi_check(env, napi_set_element(env, arr, i, ret_int(env, v[i])), "napi_set_element");
  return arr;
}

napi_value ret_string(napi_env env, const std::string& s) {
  napi_value out;
  napi_check(env, napi_create_string_utf8(env, s.data(), s.size(), &out), "napi_create_string_utf8");
  return out;
}

napi_value ret_undefined(napi_env env) {
  napi_value out;
  napi_check(env, napi_get_undefined(env, &out), "napi_get_undefined");
  return out;
}

std::string describe_tensor(const at::Tensor& t) {
  std::string s = shape_string(t.sizes()) + " " + dtype_name(t.scalar_type());
  if (!t.device().is_cpu()) s += " " + t.device().str();
  return s;
}

napi_value throw_op_error(napi_env env, Context* ctx, const char* op, const char* arg_names, napi_value* argv,
                          size_t argc, uint64_t tensor_args, const char* what) {
  std::vector<std::string> names;
  {
    std::stringstream ss(arg_names);
    std::string n;
    while (std::getline(ss, n, ',')) names.push_back(n);
  }
  std::string msg(what);
  // libtorch messages can run to many lines of context; the first one carries the reason.
  auto nl = msg.find('\n');
  if (nl != std::string::npos) msg = msg.substr(0, nl);
  // The inputs' shapes are described on a best-effort basis: an N-API call that fails here leaves that input out of
  // the message rather than replacing the error being reported.
  std::string inputs;
  for (size_t i = 0; i < argc && i < 64; ++i) {
    if (!(tensor_args & (uint64_t(1) << i))) continue;
    std::string d;
    bool is_array = false;
    if (napi_is_array(env, argv[i], &is_array) != napi_ok) continue;
    if (is_array) {
      uint32_t n = 0;
      if (napi_get_array_length(env, argv[i], &n) != napi_ok) continue;
      d = "[";
      for (uint32_t j = 0; j < n; ++j) {
        napi_value e;
        int32_t h;
        if (napi_get_element(env, argv[i], j, &e) == napi_ok && napi_get_value_int32(env, e, &h) == napi_ok && h >= 0 &&
            size_t(h) < ctx->slots.size() && ctx->slots[h].defined())
          d += (j ? ", " : "") + describe_tensor(ctx->slots[h]);
      }
      d += "]";
    } else {
      int32_t h;
      if (napi_get_value_int32(env, argv[i], &h) == napi_ok && h >= 0 && size_t(h) < ctx->slots.size() &&
          ctx->slots[h].defined())
        d = describe_tensor(ctx->slots[h]);
      else
        continue;
    }
    inputs += (inputs.empty() ? "" : ", ") + (i < names.size() ? names[i] : "#" + std::to_string(i)) + "=" + d;
  }
  std::string full = std::string(op) + ": " + msg + (inputs.empty() ? "" : " (inputs: " + inputs + ")");
  napi_value code, message, error, op_name;
  if (napi_create_string_utf8(env, "ERR_TORCH_OP", NAPI_AUTO_LENGTH, &code) == napi_ok &&
      napi_create_string_utf8(env, full.c_str(), full.size(), &message) == napi_ok &&
      napi_create_error(env, code, message, &error) == napi_ok &&
      napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &op_name) == napi_ok &&
      napi_set_named_property(env, error, "op", op_name) == napi_ok && napi_throw(env, error) == napi_ok)
    return nullptr;
  // Building the error object failed: throw the same message as a plain error. If that fails too, a JS exception is
  // already pending (e.g. a getter of an argument threw) and it is the one that propagates.
  napi_throw_error(env, "ERR_TORCH_OP", full.c_str());
  return nullptr;
}

void define(napi_env env, napi_value exports, Context* ctx, const char* name, napi_callback cb) {
  napi_value fn;
  napi_check(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, ctx, &fn), "napi_create_function");
  napi_check(env, napi_set_named_property(env, exports, name, fn), "napi_set_named_property");
}

// ---- entry points that are not plain op calls -------------------------------------------------------------

namespace {

size_t element_size_of(at::ScalarType t) { return c10::elementSize(t); }

size_t typed_array_element_bytes(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: return 8;
  }
  throw ArgError("unknown typed array type " + std::to_string(static_cast<int>(type)));
}

// The bytes a typed array views: `data` already points at its first element, and `byte_length` counts only the
// view, which may be a small window (a subarray, or a pooled Buffer) into a much larger ArrayBuffer.
struct ByteView {
  void* data;
  size_t byte_length;
  size_t byte_offset;
};

ByteView arg_bytes(napi_env env, napi_value v, const char* name) {
  bool is_typed = false;
  if (v) napi_check(env, napi_is_typedarray(env, v, &is_typed), "napi_is_typedarray");
  if (!is_typed) throw ArgError(std::string("argument '") + name + "' must be a typed array");
  napi_typedarray_type type;
  size_t length, byte_offset;
  void* data;
  napi_check(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, &byte_offset), "napi_get_typedarray_info");
  return {data, length * typed_array_element_bytes(type), byte_offset};
}

// fromBuffer(typedArray, shape, dtypeCode) -> handle. Copies, so JS may reuse its buffer.
napi_value from_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("fromBuffer", "data,shape,dtype", 0, {
    ByteView in = arg_bytes(env, argv[0], "data");
    auto shape = arg_int_list(env, argv[1], "shape");
    auto dtype = arg_dtype(env, argv[2], "dtype");
    int64_t numel = 1;
    for (auto s : shape) numel *= s;
    size_t need = static_cast<size_t>(numel) * element_size_of(dtype);
    if (in.byte_length != need)
      throw ArgError("buffer holds " + std::to_string(in.byte_length) + " bytes but shape " + shape_string(shape) +
                     " of " + dtype_name(dtype) + " needs " + std::to_string(need));
    auto t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (need) std::memcpy(t.data_ptr(), in.data, need);
    return ret_tensor(env, ctx, std::move(t));
  })
}

// copyToBuffer(handle, typedArray): copies the tensor's elements (made contiguous, on CPU) to the start of the view.
napi_value copy_to_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("copyToBuffer", "self,out", 1, {
    at::Tensor t = arg_tensor(env, ctx, argv[0], "self").detach().to(at::kCPU).contiguous();
    ByteView out = arg_bytes(env, argv[1], "out");
    size_t need = t.numel() * t.element_size();
    if (out.byte_length < need)
      throw ArgError("the destination view holds " + std::to_string(out.byte_length) + " bytes (from byte " +
                     std::to_string(out.byte_offset) + " of its ArrayBuffer) but the tensor's " + describe_tensor(t) +
                     " needs " + std::to_string(need) + "; pass a typed array of at least that many bytes");
    if (need) std::memcpy(out.data, t.data_ptr(), need);
    return ret_undefined(env);
  })
}

int32_t arg_handle(napi_env env, napi_value v) {
  int32_t h;
  napi_check(env, napi_get_value_int32(env, v, &h), "napi_get_value_int32 (argument 'handle')");
  return h;
}

napi_value dispose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("dispose", "handle", 0, {
    ctx->release(env, arg_handle(env, argv[0]));
    return ret_undefined(env);
  })
}

// Releases a handle if it is still live; the finalization backstop may race with explicit disposal.
napi_value dispose_if_live(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("disposeIfLive", "handle", 0, {
    int32_t h = arg_handle(env, argv[0]);
    if (h >= 0 && size_t(h) < ctx->slots.size() && ctx->slots[h].defined()) ctx->release(env, h);
    return ret_undefined(env);
  })
}

napi_value memory(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value* argv = nullptr;
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("memory", "", 0, {
    napi_value obj;
    napi_check(env, napi_create_object(env, &obj), "napi_create_object");
    napi_check(env, napi_set_named_property(env, obj, "numTensors", ret_int(env, ctx->live)), "napi_set_named_property");
    napi_check(env, napi_set_named_property(env, obj, "numBytes", ret_int(env, ctx->live_bytes)), "napi_set_named_property");
    napi_check(env, napi_set_named_property(env, obj, "numSlots", ret_int(env, static_cast<int64_t>(ctx->slots.size()))),
               "napi_set_named_property");
    return obj;
  })
}

napi_value info_of(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("info", "self", 1, {
    at::Tensor& t = arg_tensor(env, ctx, argv[0], "self");
    napi_value arr;
    napi_check(env, napi_create_array_with_length(env, 3, &arr), "napi_create_array_with_length");
    napi_check(env, napi_set_element(env, arr, 0, ret_int_list(env, t.sizes())), "napi_set_element");
    napi_check(env, napi_set_element(env, arr, 1, ret_int(env, static_cast<int64_t>(t.scalar_type()))), "napi_set_element");
    napi_check(env, napi_set_element(env, arr, 2, ret_string(env, t.device().str())), "napi_set_element");
    return arr;
  })
}

napi_value backward(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("backward", "self,gradient", 0b11, {
    at::Tensor& t = arg_tensor(env, ctx, argv[0], "self");
    auto grad = arg_opt_tensor(env, ctx, argv[1], "gradient");
    bool retain = arg_bool(env, argv[2], "retainGraph");
    bool create = arg_bool(env, argv[3], "createGraph");
    torch::autograd::backward({t}, grad ? std::vector<at::Tensor>{*grad} : std::vector<at::Tensor>{}, retain, create);
    return ret_undefined(env);
  })
}

// grad(outputs[], inputs[], gradOutputs[] (may hold nulls), retainGraph, createGraph, allowUnused) -> handles (-1 = none)
napi_value autograd_grad(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("grad", "outputs,inputs,gradOutputs", 0b111, {
    auto outputs = arg_tensor_list(env, ctx, argv[0], "outputs");
    auto inputs = arg_tensor_list(env, ctx, argv[1], "inputs");
    auto grad_outputs_opt = arg_opt_tensor_list(env, ctx, argv[2], "gradOutputs");
    std::vector<at::Tensor> grad_outputs;
    for (auto& g : grad_outputs_opt) grad_outputs.push_back(g ? *g : at::Tensor());
    bool retain = arg_bool(env, argv[3], "retainGraph");
    bool create = arg_bool(env, argv[4], "createGraph");
    bool allow_unused = arg_bool(env, argv[5], "allowUnused");
    auto grads = torch::autograd::grad(outputs, inputs, grad_outputs, retain, create, allow_unused);
    return ret_tensor_list(env, ctx, grads);
  })
}

napi_value get_grad(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("grad", "self", 1, { return ret_tensor(env, ctx, arg_tensor(env, ctx, argv[0], "self").grad()); })
}

napi_value set_grad(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("setGrad", "self,grad", 0b11, {
    at::Tensor& t = arg_tensor(env, ctx, argv[0], "self");
    auto g = arg_opt_tensor(env, ctx, argv[1], "grad");
    t.mutable_grad() = g ? *g : at::Tensor();
    return ret_undefined(env);
  })
}

napi_value set_requires_grad(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("requiresGrad_", "self", 1, {
    arg_tensor(env, ctx, argv[0], "self").requires_grad_(arg_bool(env, argv[1], "requiresGrad"));
    return ret_undefined(env);
  })
}

napi_value requires_grad(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("requiresGrad", "self", 1, { return ret_bool(env, arg_tensor(env, ctx, argv[0], "self").requires_grad()); })
}

napi_value set_grad_enabled(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("setGradEnabled", "enabled", 0, {
    bool previous = at::GradMode::is_enabled();
    at::GradMode::set_enabled(arg_bool(env, argv[0], "enabled"));
    return ret_bool(env, previous);
  })
}

napi_value manual_seed(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("manualSeed", "seed", 0, {
    torch::manual_seed(static_cast<uint64_t>(arg_int(env, argv[0], "seed")));
    return ret_undefined(env);
  })
}

// getRngState() -> handle of the default CPU generator's state (a uint8 tensor), as torch.get_rng_state().
napi_value get_rng_state(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("getRngState", "", 0, {
    auto gen = at::detail::getDefaultCPUGenerator();
    at::Tensor state;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      state = gen.get_state();
    }
    return ret_tensor(env, ctx, std::move(state));
  })
}

// setRngState(handle): restores a state from getRngState, as torch.set_rng_state().
napi_value set_rng_state(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("setRngState", "state", 1, {
    const at::Tensor& state = arg_tensor(env, ctx, argv[0], "state");
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return ret_undefined(env);
  })
}

napi_value set_num_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("setNumThreads", "threads", 0, {
    at::set_num_threads(static_cast<int>(arg_int(env, argv[0], "threads")));
    return ret_undefined(env);
  })
}

// Entry points without arguments that return one value.
#define REPOSER_NO_ARGS(op, ...)                        \
  size_t argc = 0;                                      \
  napi_value* argv = nullptr;                           \
  Context* ctx = context_of(env, info, &argc, argv);    \
  REPOSER_GUARD(op, "", 0, { return __VA_ARGS__; })

napi_value get_num_threads(napi_env env, napi_callback_info info) {
  REPOSER_NO_ARGS("getNumThreads", ret_int(env, at::get_num_threads()))
}

napi_value cuda_device_count(napi_env env, napi_callback_info info) {
  REPOSER_NO_ARGS("cudaDeviceCount", ret_int(env, torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0))
}

napi_value item(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("item", "self", 1, {
    at::Tensor& t = arg_tensor(env, ctx, argv[0], "self");
    if (t.numel() != 1) throw ArgError("item() needs a one-element tensor, got " + describe_tensor(t));
    if (t.scalar_type() == at::kBool) return ret_bool(env, t.item<bool>());
    return ret_double(env, t.item<double>());
  })
}

// ---- autocast: libtorch's own per-thread autocast state, entered and left as Python's torch.autocast does --------
// The state is thread-local in libtorch, as it is in Python; each Node environment runs its ops on its own thread.

bool arg_autocast_cuda(napi_env env, napi_value v) {
  std::string device = arg_string(env, v, "device");
  if (device == "cpu") return false;
  if (device == "cuda") return true;
  throw ArgError("argument 'device' must be 'cpu' or 'cuda', got '" + device + "'");
}

napi_value autocast_pair(napi_env env, bool enabled, at::ScalarType dtype) {
  napi_value arr;
  napi_check(env, napi_create_array_with_length(env, 2, &arr), "napi_create_array_with_length");
  napi_check(env, napi_set_element(env, arr, 0, ret_bool(env, enabled)), "napi_set_element");
  napi_check(env, napi_set_element(env, arr, 1, ret_int(env, static_cast<int64_t>(dtype))), "napi_set_element");
  return arr;
}

// libtorch 2.4 made the autocast state per device type and deprecated the per-device functions 1.13 has only.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
napi_value autocast_state_of(napi_env env, bool cuda) {
  at::DeviceType device = cuda ? at::kCUDA : at::kCPU;
  return autocast_pair(env, at::autocast::is_autocast_enabled(device), at::autocast::get_autocast_dtype(device));
}

// The dtype is set first: libtorch refuses some (CPU takes only bfloat16 in 1.13), and a refusal must leave the
// state as it was.
void set_autocast(bool cuda, bool enabled, at::ScalarType dtype) {
  at::DeviceType device = cuda ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_dtype(device, dtype);
  at::autocast::set_autocast_enabled(device, enabled);
}
#else
napi_value autocast_state_of(napi_env env, bool cuda) {
  return cuda ? autocast_pair(env, at::autocast::is_enabled(), at::autocast::get_autocast_gpu_dtype())
              : autocast_pair(env, at::autocast::is_cpu_enabled(), at::autocast::get_autocast_cpu_dtype());
}

// The dtype is set first: libtorch refuses some (CPU takes only bfloat16 in 1.13), and a refusal must leave the
// state as it was.
void set_autocast(bool cuda, bool enabled, at::ScalarType dtype) {
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
}
#endif

// autocastState(device) -> [enabled, dtypeCode]
napi_value autocast_state(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("autocastState", "device", 0, { return autocast_state_of(env, arg_autocast_cuda(env, argv[0])); })
}

// autocastEnter(device, enabled, dtypeCode) -> the previous [enabled, dtypeCode], for autocastExit.
// autocastExit(device, previousEnabled, previousDtypeCode): leaves one level; the outermost exit drops the cache of
// lower-precision copies of leaf tensors (the weights), so they do not outlive the scope.
napi_value autocast_enter_or_exit(napi_env env, napi_callback_info info, bool enter) {
  size_t argc = 3;
  napi_value argv[3];
  Context* ctx = context_of(env, info, &argc, argv);
  REPOSER_GUARD("autocast", "device,enabled,dtype", 0, {
    bool cuda = arg_autocast_cuda(env, argv[0]);
    bool enabled = arg_bool(env, argv[1], "enabled");
    at::ScalarType dtype = arg_dtype(env, argv[2], "dtype");
    if (!enter) {
      if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
      set_autocast(cuda, enabled, dtype);
      return ret_undefined(env);
    }
    napi_value previous = autocast_state_of(env, cuda);
    set_autocast(cuda, enabled, dtype);
    at::autocast::increment_nesting();
    return previous;
  })
}

napi_value autocast_enter(napi_env env, napi_callback_info info) { return autocast_enter_or_exit(env, info, true); }
napi_value autocast_exit(napi_env env, napi_callback_info info) { return autocast_enter_or_exit(env, info, false); }

// Whether the current CUDA device computes in bfloat16 natively (compute capability 8 or later; libtorch answers
// through its cuDNN v8 bfloat16-convolution check, the one query of that kind a CPU-only build can make).
napi_value cuda_bf16_supported(napi_env env, napi_callback_info info) {
  REPOSER_NO_ARGS("cudaBf16Supported", ret_bool(env, torch::cuda::is_available() &&
                                                      at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8()))
}

napi_value version(napi_env env, napi_callback_info info) { REPOSER_NO_ARGS("version", ret_string(env, TORCH_VERSION)) }

}  // namespace

void register_core(napi_env env, napi_value exports, Context* ctx) {
  define(env, exports, ctx, "fromBuffer", from_buffer);
  define(env, exports, ctx, "copyToBuffer", copy_to_buffer);
  define(env, exports, ctx, "dispose", dispose);
  define(env, exports, ctx, "disposeIfLive", dispose_if_live);
  define(env, exports, ctx, "memory", memory);
  define(env, exports, ctx, "info", info_of);
  define(env, exports, ctx, "backward", backward);
  define(env, exports, ctx, "autogradGrad", autograd_grad);
  define(env, exports, ctx, "getGrad", get_grad);
  define(env, exports, ctx, "setGrad", set_grad);
  define(env, exports, ctx, "setRequiresGrad", set_requires_grad);
  define(env, exports, ctx, "requiresGrad", requires_grad);
  define(env, exports, ctx, "setGradEnabled", set_grad_enabled);
  define(env, exports, ctx, "manualSeed", manual_seed);
  define(env, exports, ctx, "getRngState", get_rng_state);
  define(env, exports, ctx, "setRngState", set_rng_state);
  define(env, exports, ctx, "setNumThreads", set_num_threads);
  define(env, exports, ctx, "getNumThreads", get_num_threads);
  define(env, exports, ctx, "cudaDeviceCount", cuda_device_count);
  define(env, exports, ctx, "item", item);
  define(env, exports, ctx, "version", version);
  define(env, exports, ctx, "autocastState", autocast_state);
  define(env, exports, ctx, "autocastEnter", autocast_enter);
  define(env, exports, ctx, "autocastExit", autocast_exit);
  define(env, exports, ctx, "cudaBf16Supported", cuda_bf16_supported);
}

}  // namespace reposer

static void finalize_context(napi_env, void* data, void*) { delete static_cast<reposer::Context*>(data); }

namespace {

// Process-wide settings, made once whichever environment (main thread or worker) loads the addon first.
void configure_process() {
  // libtorch defaults to one thread here; use the cores this process may run on (its affinity mask, as
  // os.availableParallelism() counts them; taskset and container cpusets shrink it) unless REPOSER_THREADS says otherwise.
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 0) threads = CPU_COUNT(&allowed);
  if (const char* s = std::getenv("REPOSER_THREADS")) threads = std::atoi(s);
  if (threads > 0) at::set_num_threads(threads);

#ifdef __GLIBC__
  // glibc serves big blocks (activations, gradients: megabytes each) with mmap and returns freed heap tops to the
  // OS, so every training step page-faults its working set in again: ~12k faults and a quarter of the step time
  // for the 4x21x128x64 bench net. Keeping blocks up to 128 MB in the heap (and 256 MB of free heap top) removes
  // that; RSS then stays near the peak working set instead of breathing. REPOSER_MALLOC_TUNE=0, or the user's own
  // GLIBC_TUNABLES / MALLOC_*_ settings, leave glibc's defaults alone.
  const char* tune = std::getenv("REPOSER_MALLOC_TUNE");
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  bool user_set = std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") ||
                  (tunables && std::strstr(tunables, "glibc.malloc."));
  if (!(tune && std::strcmp(tune, "0") == 0) && !user_set) {
    mallopt(M_MMAP_THRESHOLD, 128 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  }
#endif
}

std::once_flag process_configured;

}  // namespace

NAPI_MODULE_INIT() {
  auto* ctx = new reposer::Context();
  if (napi_set_instance_data(env, ctx, finalize_context, nullptr) != napi_ok) {
    delete ctx;
    napi_throw_error(env, "ERR_NAPI", "loading the reposer addon failed: N-API call napi_set_instance_data failed");
    return nullptr;
  }
  try {
    std::call_once(process_configured, configure_process);
    reposer::register_core(env, exports, ctx);
    reposer::register_generated_0(env, exports, ctx);
    reposer::register_generated_1(env, exports, ctx);
    reposer::register_distributed(env, exports, ctx);
  } catch (const std::exception& e) {
    napi_throw_error(env, "ERR_NAPI", (std::string("loading the reposer addon failed: ") + e.what()).c_str());
    return nullptr;
  }
  return exports;
}
