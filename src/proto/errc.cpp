// The "proto" error category.
#include "relay/proto/errc.hpp"

#include <string>

namespace relay::proto {
namespace {

class proto_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "proto"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::empty_record:
        return "empty record";
      case errc::record_too_large:
        return "record length over the limit";
      case errc::empty_frame:
        return "empty frame";
      case errc::unknown_type:
        return "unknown frame type";
      case errc::truncated:
        return "truncated frame";
      case errc::trailing_bytes:
        return "trailing bytes after frame";
      case errc::field_too_long:
        return "field over its size limit";
      case errc::bad_value:
        return "field value out of range";
      case errc::empty_batch:
        return "no entries";
      case errc::not_in_batch:
        return "a batch, padded, sign_in, sign_up, change_password or delete_account entry (these "
               "travel alone)";
      case errc::bad_padding:
        return "bad padding";
    }
    return "unknown protocol error";
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const proto_category c;
  return c;
}

}  // namespace relay::proto
