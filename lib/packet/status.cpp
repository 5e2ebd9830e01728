#include <pkio/status.h>

namespace pkio {

std::string_view to_string(Status status) noexcept {
  switch (status) {
    case Status::success: return "success";
    case Status::pending: return "pending";
    case Status::not_recognized: return "not_recognized";
    case Status::resources: return "resources";
    case Status::failure: return "failure";
    case Status::not_supported: return "not_supported";
    case Status::closing: return "closing";
    case Status::request_aborted: return "request_aborted";
    case Status::reset_in_progress: return "reset_in_progress";
    case Status::invalid_packet: return "invalid_packet";
    case Status::invalid_length: return "invalid_length";
    case Status::invalid_data: return "invalid_data";
    case Status::buffer_too_short: return "buffer_too_short";
    case Status::invalid_oid: return "invalid_oid";
    case Status::adapter_removed: return "adapter_removed";
    case Status::no_cable: return "no_cable";
  }
  return "unknown";
}

std::string_view to_string(Indication indication) noexcept {
  switch (indication) {
    case Indication::reset_start: return "reset_start";
    case Indication::reset_end: return "reset_end";
    case Indication::media_connect: return "media_connect";
    case Indication::media_disconnect: return "media_disconnect";
  }
  return "unknown";
}

}  // namespace pkio
