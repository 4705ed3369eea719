#include "fourmi/models/mode_parallel.h"

#include <torch/torch.h>

#include "fourmi/util/partition.h"

namespace fourmi::models {

ModeBlock mode_block(int64_t total, int rank, int ranks) {
  const util::Piece piece = util::balanced_piece(total, rank, ranks);
  return {piece.start, piece.count, total, util::balanced_piece(total, 0, ranks).count};  // block 0 is a largest one
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// All-gathers [count, ...] blocks padded to [padded, ...] and returns the [total, ...] concatenation.
torch::Tensor all_gather_blocks(const torch::Tensor& own, distributed::Communicator& comm, const ModeBlock& mine) {
  std::vector<int64_t> shape = own.sizes().vec();
  shape[0] = mine.padded;
  torch::Tensor padded = torch::zeros(shape, own.options());
  padded.narrow(0, 0, mine.count).copy_(own);
  torch::Tensor all = comm.all_gather(padded);  // [ranks * padded, ...]
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < comm.size(); ++r) {
    ModeBlock b = mode_block(mine.total, r, comm.size());
    parts.push_back(all.narrow(0, r * mine.padded, b.count));
  }
  return torch::cat(parts, 0);
}

struct BlockInfo {
  static void save(AutogradContext* ctx, const ModeGroup& g, const ModeBlock& b) {
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(g.comm);
    ctx->saved_data["start"] = b.start;
    ctx->saved_data["count"] = b.count;
    ctx->saved_data["total"] = b.total;
    ctx->saved_data["padded"] = b.padded;
  }
  static std::pair<distributed::Communicator*, ModeBlock> load(AutogradContext* ctx) {
    ModeBlock b{ctx->saved_data["start"].toInt(), ctx->saved_data["count"].toInt(), ctx->saved_data["total"].toInt(),
                ctx->saved_data["padded"].toInt()};
    return {reinterpret_cast<distributed::Communicator*>(ctx->saved_data["comm"].toInt()), b};
  }
};

struct TakeOwnModes : public torch::autograd::Function<TakeOwnModes> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& all, int64_t comm, int64_t start,
                               int64_t count, int64_t total, int64_t padded) {
    BlockInfo::save(ctx, ModeGroup{reinterpret_cast<distributed::Communicator*>(comm)},
                    ModeBlock{start, count, total, padded});
    return all.narrow(0, start, count).contiguous();
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto [comm, b] = BlockInfo::load(ctx);
    torch::Tensor full = all_gather_blocks(grad[0].contiguous(), *comm, b);
    return {full, {}, {}, {}, {}, {}};
  }
};

struct GatherAllModes : public torch::autograd::Function<GatherAllModes> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& own, int64_t comm, int64_t start,
                               int64_t count, int64_t total, int64_t padded) {
    ModeBlock b{start, count, total, padded};
    auto* c = reinterpret_cast<distributed::Communicator*>(comm);
    BlockInfo::save(ctx, ModeGroup{c}, b);
    return all_gather_blocks(own.contiguous(), *c, b);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto [comm, b] = BlockInfo::load(ctx);
    (void)comm;
    return {grad[0].narrow(0, b.start, b.count).contiguous(), {}, {}, {}, {}, {}};
  }
};

}  // namespace

torch::Tensor take_own_modes(const torch::Tensor& all, const ModeGroup& g, const ModeBlock& b) {
  if (g.size() == 1) return all;
  return TakeOwnModes::apply(all, reinterpret_cast<int64_t>(g.comm), b.start, b.count, b.total, b.padded);
}

torch::Tensor gather_all_modes(const torch::Tensor& own, const ModeGroup& g, const ModeBlock& b) {
  if (g.size() == 1) return own;
  return GatherAllModes::apply(own, reinterpret_cast<int64_t>(g.comm), b.start, b.count, b.total, b.padded);
}

}  // namespace fourmi::models
