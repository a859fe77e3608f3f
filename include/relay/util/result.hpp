// result<T>: a value or a std::error_code. The subset of C++23 std::expected we need
// (GCC 12 ships <expected> only with -std=c++23), so switching later is mechanical.
#pragma once

#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace relay {

/// Wraps an error for construction of a failed result (like std::unexpected).
struct failure {
  std::error_code ec;
  template <class E, class = std::enable_if_t<std::is_error_code_enum_v<E>>>
  failure(E e) : ec(make_error_code(e)) {}  // NOLINT: implicit on purpose
  failure(std::error_code e) : ec(e) {}     // NOLINT
};

/// Holds either a T or the error_code explaining why there is none.
template <class T>
class [[nodiscard]] result {
 public:
  result(T v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT
  result(failure f) : v_(std::in_place_index<1>, f.ec) {}    // NOLINT
  template <class E, class = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e) : v_(std::in_place_index<1>, make_error_code(e)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  /// The error; only meaningful when !has_value().
  std::error_code error() const { return has_value() ? std::error_code{} : std::get<1>(v_); }

 private:
  std::variant<T, std::error_code> v_;
};

/// result<void>: success or an error.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(failure f) : ec_(f.ec) {}  // NOLINT
  template <class E, class = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e) : ec_(make_error_code(e)) {}  // NOLINT
  bool has_value() const noexcept { return !ec_; }
  explicit operator bool() const noexcept { return has_value(); }
  std::error_code error() const { return ec_; }

 private:
  std::error_code ec_;
};

}  // namespace relay
