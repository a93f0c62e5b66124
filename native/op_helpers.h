// Small conversions that op-table.mjs call expressions use.
#pragma once
#include "core.h"

namespace reposer {

inline at::TensorOptions opts(at::ScalarType dtype, at::Device device) {
  return at::TensorOptions().dtype(dtype).device(device);
}

// PyTorch accepts one int for a 2-d parameter (kernel 3 means 3x3).
inline std::vector<int64_t> pair(const std::vector<int64_t>& v) {
  if (v.size() == 1) return {v[0], v[0]};
  return v;
}

// A reduction's dims: the given ones, or every dim when null (so keepdim=true with dim=null keeps all dims as size 1,
// as Python's a.sum(dim=None, keepdim=True) does).
inline std::vector<int64_t> dims_or_all(const at::Tensor& t, const c10::optional<std::vector<int64_t>>& dim) {
  if (dim) return *dim;
  std::vector<int64_t> all(t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) all[i] = i;
  return all;
}

inline int64_t reduction_code(const std::string& r) {
  if (r == "none") return at::Reduction::None;
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  throw ArgError("reduction must be 'none', 'mean' or 'sum', got '" + r + "'");
}

inline int64_t grid_mode(const std::string& m) {
  if (m == "bilinear") return 0;
  if (m == "nearest") return 1;
  if (m == "bicubic") return 2;
  throw ArgError("grid sample mode must be 'bilinear', 'nearest' or 'bicubic', got '" + m + "'");
}

inline int64_t grid_padding(const std::string& m) {
  if (m == "zeros") return 0;
  if (m == "border") return 1;
  if (m == "reflection") return 2;
  throw ArgError("grid sample padding must be 'zeros', 'border' or 'reflection', got '" + m + "'");
}

// A `Tensor|Scalar` argument given a JS number arrives as a wrapped-number tensor. Ops whose Tensor overload does not
// follow Python's Scalar overload (lerp needs matching dtypes; where with two numbers asserts) dispatch on this.
inline bool is_number(const at::Tensor& t) { return t.unsafeGetTensorImpl()->is_wrapped_number(); }

inline at::Tensor where_mixed(const at::Tensor& c, const at::Tensor& a, const at::Tensor& b) {
  if (is_number(a) && is_number(b)) return at::where(c, a.item(), b.item());
  if (is_number(a)) return at::where(c, a.item(), b);
  if (is_number(b)) return at::where(c, a, b.item());
  return at::where(c, a, b);
}

inline c10::List<c10::optional<at::Tensor>> tensor_indices(const std::vector<at::Tensor>& ts) {
  c10::List<c10::optional<at::Tensor>> out;
  for (const auto& t : ts) out.push_back(t);
  return out;
}

}  // namespace reposer
