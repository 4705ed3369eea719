// cmd_info.cpp — `fourmi info`: build, devices and the topology every rank sees.
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_info(const CommonOptions& opts) {
  config::Config cfg = load_config(opts);
  runtime::RunContext ctx(cfg);
  const auto& l = ctx.launch();
  util::info("fourmi 0.1.0 — LibTorch {}, CUDA available: {}, GPUs visible: {}, NCCL compiled in: {}", TORCH_VERSION,
             torch::cuda::is_available() ? "yes" : "no", torch::cuda::device_count(),
#ifdef FOURMI_HAVE_NCCL
             "yes"
#else
             "no"
#endif
  );
  util::info("launcher {}, world size {}, backend {}", l.launcher, l.world_size, ctx.world().backend());
  util::info("process grid: {} data x {} modes (rank r: replica r / {}, mode block r % {})", ctx.data_ranks(),
             ctx.mode_ranks(), ctx.mode_ranks(), ctx.mode_ranks());
  // Every rank reports its own view; gathered to rank 0 so lines come out in rank order.
  std::string line = fmt::format("rank {:>4} | local {:>3}/{:<3} | node {:>3} | host {} | device {}", l.rank,
                                 l.local_rank, l.local_size, l.node, l.host, ctx.device().str());
  line.resize(160, ' ');
  torch::Tensor mine = torch::from_blob(line.data(), {160}, torch::kUInt8).clone();
  if (ctx.device().is_cuda() && ctx.world().backend() == "nccl") mine = mine.to(ctx.device());
  torch::Tensor all = ctx.world().all_gather(mine).to(torch::kCPU).contiguous();
  if (l.rank == 0) {
    for (int r = 0; r < ctx.world().size(); ++r) {
      std::string s(reinterpret_cast<const char*>(all.data_ptr<uint8_t>()) + r * 160, 160);
      s.erase(s.find_last_not_of(' ') + 1);
      util::info("{}", s);
    }
  }
  return 0;
}

}  // namespace fourmi::cli
