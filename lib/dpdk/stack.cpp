#include <pkio/dpdk/stack.h>

#include <pkio/dpdk/eal.h>

namespace pkio::dpdk {

Result<std::unique_ptr<Lane>> Lane::open(Port& port, const MiniportConfig& miniport, const AdapterConfig& adapter) {
  std::unique_ptr<Lane> lane(new Lane());
  auto m = DpdkMiniport::create(port, miniport);
  if (!m) return tl::unexpected(m.error());
  lane->miniport_ = std::move(*m);
  auto a = Adapter::create(lane->miniport_->characteristics(), lane->miniport_.get(), adapter);
  if (!a) return tl::unexpected(a.error());
  lane->adapter_ = std::move(*a);
  return lane;
}

Lane::~Lane() {
  adapter_.reset();  // halts: every packet completes while the miniport is still there
  miniport_.reset();
}

Result<Binding*> Lane::bind(const ProtocolCharacteristics& protocol, void* binding_context) {
  return open_adapter(*adapter_, protocol, binding_context);
}

Result<std::unique_ptr<Stack>> Stack::open(const StackConfig& config) {
  if (config.queues == 0) return failure_of(Status::invalid_data, "a stack needs at least one TX queue");
  if (!eal_running()) {
    std::vector<std::string> args = config.eal_args;
    if (args.empty()) {
      args.push_back("pkio");
      for (auto& a : default_eal_args()) args.push_back(a);
    }
    if (auto up = eal_init(args); !up) return tl::unexpected(up.error());
  }
  auto id = Port::find(config.port);
  if (!id) return tl::unexpected(id.error());
  PortConfig pc = config.port_config;
  if (pc.tx_queues < config.queues) pc.tx_queues = config.queues;
  auto port = Port::open(*id, pc);
  if (!port) return tl::unexpected(port.error());
  std::unique_ptr<Stack> stack(new Stack());
  stack->port_ = std::move(*port);
  for (uint16_t q = 0; q < config.queues; ++q) {
    MiniportConfig mc = config.miniport;
    mc.queue_id = q;
    auto lane = Lane::open(*stack->port_, mc, config.adapter);
    if (!lane) return tl::unexpected(lane.error());
    stack->lanes_.push_back(std::move(*lane));
  }
  return stack;
}

Stack::~Stack() {
  lanes_.clear();  // adapters halt first, then their miniports go
  port_.reset();
}

}  // namespace pkio::dpdk
