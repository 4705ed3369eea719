#include "fourmi/gradsync/sharded_adam.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>

namespace fourmi::gradsync {
namespace {

torch::optim::AdamParamState* find_state(torch::optim::Optimizer& opt, const torch::Tensor& p) {
  auto it = opt.state().find(p.unsafeGetTensorImpl());
  return it == opt.state().end() ? nullptr : static_cast<torch::optim::AdamParamState*>(it->second.get());
}

}  // namespace

ShardedAdam::ShardedAdam(distributed::GradReducer& reducer, distributed::Communicator& comm,
                         std::unique_ptr<train::FusedAdam> adam)
    : reducer_(reducer), comm_(comm), adam_(std::move(adam)) {
  if (!reducer_.sharded())
    throw std::logic_error("ShardedAdam: the GradReducer was not built with ReducerOptions::shard");
  if (adam_->param_groups().size() != 1 || adam_->param_groups()[0].params().size() != reducer_.update_tensors().size())
    throw std::logic_error("ShardedAdam: the optimizer must hold reducer.update_tensors(), in one parameter group");
}

void ShardedAdam::step_buckets(size_t first, size_t last) {
  std::vector<torch::Tensor> tensors;
  for (size_t b = first; b < last; ++b)
    for (auto& t : reducer_.update_tensors(b)) tensors.push_back(t);
  adam_->step_params(tensors);
}

void ShardedAdam::export_state(const std::vector<torch::Tensor>& params, torch::optim::Optimizer& full, bool keep) {
  torch::NoGradGuard no_grad;
  for (size_t b = 0; b < reducer_.num_buckets(); ++b) {
    if (!reducer_.bucket_sharded(b)) {  // updated whole on every rank: its state is already per parameter
      if (!keep) continue;
      for (size_t k : reducer_.bucket_params(b)) {
        auto* st = find_state(*adam_, params.at(k));
        if (st) full.state()[params[k].unsafeGetTensorImpl()] = std::make_unique<torch::optim::AdamParamState>(*st);
      }
      continue;
    }
    const torch::Tensor& shard = reducer_.shard(b);
    // Every rank updates every block each step, so either all ranks have state for this bucket or none.
    auto* st = find_state(*adam_, shard);
    if (!st) continue;
    const int64_t block = shard.numel(), lo = comm_.rank() * block;
    torch::Tensor m1 = torch::zeros({reducer_.padded_numel(b)}, shard.options()), m2 = torch::zeros_like(m1);
    m1.narrow(0, lo, block).copy_(st->exp_avg());
    m2.narrow(0, lo, block).copy_(st->exp_avg_sq());
    comm_.all_gather_in_place_async(m1)->wait();
    comm_.all_gather_in_place_async(m2)->wait();
    if (!keep) continue;
    const auto& members = reducer_.bucket_params(b);
    const auto& offsets = reducer_.bucket_offsets(b);
    for (size_t i = 0; i < members.size(); ++i) {
      const torch::Tensor& p = params.at(members[i]);
      auto ps = std::make_unique<torch::optim::AdamParamState>();
      ps->step(st->step());
      ps->exp_avg(m1.narrow(0, offsets[i], p.numel()).view(p.sizes()).clone());
      ps->exp_avg_sq(m2.narrow(0, offsets[i], p.numel()).view(p.sizes()).clone());
      full.state()[p.unsafeGetTensorImpl()] = std::move(ps);
    }
  }
}

void ShardedAdam::import_state(const std::vector<torch::Tensor>& params, torch::optim::Optimizer& full) {
  torch::NoGradGuard no_grad;
  for (size_t b = 0; b < reducer_.num_buckets(); ++b) {
    if (!reducer_.bucket_sharded(b)) {
      for (size_t k : reducer_.bucket_params(b)) {
        auto* st = find_state(full, params.at(k));
        if (st) adam_->state()[params[k].unsafeGetTensorImpl()] = std::make_unique<torch::optim::AdamParamState>(*st);
      }
      continue;
    }
    const torch::Tensor& shard = reducer_.shard(b);
    const auto& members = reducer_.bucket_params(b);
    const auto& offsets = reducer_.bucket_offsets(b);
    torch::Tensor m1 = torch::zeros({reducer_.padded_numel(b)}, shard.options()), m2 = torch::zeros_like(m1);
    int64_t step = -1;
    for (size_t i = 0; i < members.size(); ++i) {
      const torch::Tensor& p = params.at(members[i]);
      auto* ps = find_state(full, p);
      if (!ps) continue;
      // A bucket's block has one step count. Parameters of a bucket differ only when some received
      // no gradient in some steps of an unsharded run (it skips them); the block takes the largest.
      step = std::max<int64_t>(step, ps->step());
      m1.narrow(0, offsets[i], p.numel()).copy_(ps->exp_avg().reshape(-1));
      m2.narrow(0, offsets[i], p.numel()).copy_(ps->exp_avg_sq().reshape(-1));
    }
    if (step < 0) continue;  // a checkpoint saved before any update
    const int64_t block = shard.numel(), lo = comm_.rank() * block;
    auto st = std::make_unique<torch::optim::AdamParamState>();
    st->step(step);
    st->exp_avg(m1.narrow(0, lo, block).clone());
    st->exp_avg_sq(m2.narrow(0, lo, block).clone());
    adam_->state()[shard.unsafeGetTensorImpl()] = std::move(st);
  }
  drop_state(params, full);
}

void ShardedAdam::drop_state(const std::vector<torch::Tensor>& params, torch::optim::Optimizer& full) {
  for (const auto& p : params) full.state().erase(p.unsafeGetTensorImpl());
}

}  // namespace fourmi::gradsync
