#include <pkio/oid.h>

namespace pkio {

std::string_view to_string(Oid oid) noexcept {
  switch (oid) {
    case Oid::maximum_lookahead: return "maximum_lookahead";
    case Oid::maximum_frame_size: return "maximum_frame_size";
    case Oid::link_speed: return "link_speed";
    case Oid::transmit_buffer_space: return "transmit_buffer_space";
    case Oid::transmit_block_size: return "transmit_block_size";
    case Oid::maximum_total_size: return "maximum_total_size";
    case Oid::mac_options: return "mac_options";
    case Oid::media_connect_status: return "media_connect_status";
    case Oid::maximum_send_packets: return "maximum_send_packets";
    case Oid::xmit_ok: return "xmit_ok";
    case Oid::xmit_error: return "xmit_error";
    case Oid::transmit_queue_length: return "transmit_queue_length";
  }
  return "unknown";
}

}  // namespace pkio
