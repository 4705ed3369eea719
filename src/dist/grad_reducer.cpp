#include "fourmi/dist/grad_reducer.h"

#include <fmt/format.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

namespace fourmi::dist {
namespace {

// Runs after AccumulateGrad has stored a parameter's gradient (the total over micro-steps).
class AfterAccumulate : public torch::autograd::PostAccumulateGradHook {
 public:
  explicit AfterAccumulate(std::function<void()> fn) : fn_(std::move(fn)) {}
  void operator()(const torch::autograd::Variable&) override { fn_(); }

 private:
  std::function<void()> fn_;
};

}  // namespace

GradReducer::GradReducer(std::vector<torch::Tensor> params, Communicator& comm, ReducerOptions options)
    : params_(std::move(params)), comm_(comm), options_(options), alive_(std::make_shared<bool>(true)) {
  where_.resize(params_.size());
  ready_.assign(params_.size(), false);
  // Reverse registration order ≈ the order backward produces gradients.
  Bucket current;
  int64_t bytes = 0, elems = 0;
  auto close_bucket = [&]() {
    if (current.params.empty()) return;
    current.flat = torch::zeros({elems}, params_[current.params[0]].options().dtype(torch::kFloat32));
    buckets_.push_back(std::move(current));
    current = Bucket{};
    bytes = elems = 0;
  };
  // The first bucket is kept small (1 MiB, as DDP does) so that communication starts early; a
  // parameter that would overflow a non-empty bucket starts the next one; a parameter of half a
  // bucket or more gets a bucket of its own, so that its gradient is reduced in place, not copied.
  int64_t cap = std::min<int64_t>(options_.bucket_bytes, 1 << 20);
  for (size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    if (p.scalar_type() != torch::kFloat32)
      throw std::invalid_argument(fmt::format("GradReducer: parameter {} is {}; accepted: float32 (keep complex weights as real [...,2])",
                                              k, c10::toString(p.scalar_type())));
    const int64_t pbytes = p.numel() * 4;
    const bool alone = 2 * pbytes >= options_.bucket_bytes;
    if (!current.params.empty() && (alone || p.device() != params_[current.params[0]].device() || bytes + pbytes > cap)) {
      close_bucket();
      cap = options_.bucket_bytes;
    }
    where_[k] = {buckets_.size(), current.params.size()};
    current.params.push_back(k);
    current.offsets.push_back(elems);
    elems += p.numel();
    bytes += pbytes;
    if (alone) {
      close_bucket();
      cap = options_.bucket_bytes;
    }
  }
  close_bucket();
  for (size_t k = 0; k < params_.size(); ++k) {
    std::weak_ptr<bool> alive = alive_;
    torch::autograd::impl::set_post_acc_grad_hooks(params_[k], std::make_unique<AfterAccumulate>([this, k, alive] {
      if (alive.lock()) on_grad(k);
    }));
  }
}

GradReducer::~GradReducer() { *alive_ = false; }

void GradReducer::broadcast_parameters(int root) {
  torch::NoGradGuard no_grad;
  for (auto& b : buckets_) {
    for (size_t i = 0; i < b.params.size(); ++i)
      b.flat.narrow(0, b.offsets[i], params_[b.params[i]].numel()).copy_(params_[b.params[i]].detach().reshape(-1));
    comm_.broadcast(b.flat, root);
    for (size_t i = 0; i < b.params.size(); ++i) {
      auto& p = params_[b.params[i]];
      p.detach().copy_(b.flat.narrow(0, b.offsets[i], p.numel()).view(p.sizes()));
    }
  }
}

void GradReducer::prepare(bool sync) {
  sync_ = sync;
  if (!sync) return;
  next_launch_ = 0;
  std::fill(ready_.begin(), ready_.end(), false);
  for (auto& b : buckets_) {
    b.pending = b.params.size();
    b.work.reset();
  }
}

void GradReducer::on_grad(size_t k) {
  if (!sync_ || ready_[k]) return;
  auto [bi, slot] = where_[k];
  Bucket& b = buckets_[bi];
  torch::NoGradGuard no_grad;
  const torch::Tensor& g = params_[k].grad();
  if (b.params.size() == 1 && g.is_contiguous() && g.scalar_type() == torch::kFloat32) {
    b.target = g.view(-1);  // a bucket of one parameter reduces its gradient in place: no copy
  } else {
    b.flat.narrow(0, b.offsets[slot], params_[k].numel()).copy_(g.reshape(-1));
    b.target = b.flat;
  }
  ready_[k] = true;
  if (--b.pending == 0) launch_ready();
}

void GradReducer::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& b = buckets_[next_launch_++];
    if (options_.bf16_compress) {
      b.wire = b.target.to(torch::kBFloat16);
      b.work = comm_.all_reduce_async(b.wire, ReduceOp::kSum);
    } else {
      b.work = comm_.all_reduce_async(b.target, ReduceOp::kSum);
    }
  }
}

void GradReducer::finish() {
  if (!sync_) return;
  launch_remaining();
  for (size_t b = 0; b < buckets_.size(); ++b) wait_bucket(b);
}

void GradReducer::launch_remaining() {
  if (!sync_) throw std::logic_error("GradReducer::launch_remaining: this backward was not prepared with sync");
  torch::NoGradGuard no_grad;
  // Parameters that received no gradient this step contribute zeros, so every rank still
  // launches every bucket, in order.
  for (size_t k = 0; k < params_.size(); ++k) {
    if (ready_[k]) continue;
    auto [bi, slot] = where_[k];
    Bucket& b = buckets_[bi];
    torch::Tensor view = b.flat.narrow(0, b.offsets[slot], params_[k].numel());
    const auto& acc = params_[k].grad();
    if (acc.defined()) view.copy_(acc.reshape(-1));
    else view.zero_();
    b.target = b.flat;
    ready_[k] = true;
    --b.pending;
  }
  launch_ready();
  next_wait_ = 0;
  if (buckets_.empty()) sync_ = false;
}

void GradReducer::wait_bucket(size_t bucket) {
  if (!sync_ || bucket != next_wait_ || next_launch_ != buckets_.size())
    throw std::logic_error(fmt::format("GradReducer::wait_bucket({}): call launch_remaining() first, then wait for each of the {} buckets "
                                       "once, in order (next: {})", bucket, buckets_.size(), next_wait_));
  torch::NoGradGuard no_grad;
  Bucket& b = buckets_[bucket];
  b.work->wait();
  if (options_.bf16_compress) b.target.copy_(b.wire);
  const bool in_place = !b.target.is_same(b.flat);
  b.target = torch::Tensor();
  b.work.reset();
  if (++next_wait_ == buckets_.size()) sync_ = false;
  if (in_place) return;  // the gradient itself was reduced
  // The reduced gradients are handed over as views of the bucket, without a copy. The bucket is
  // written again only by the next synchronised backward, which the caller's stream orders after
  // the optimizer step that reads these views.
  for (size_t i = 0; i < b.params.size(); ++i) {
    auto& p = params_[b.params[i]];
    p.mutable_grad() = b.flat.narrow(0, b.offsets[i], p.numel()).view(p.sizes());
  }
}

}  // namespace fourmi::dist
