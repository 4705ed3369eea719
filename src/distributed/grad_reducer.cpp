#include "fourmi/distributed/grad_reducer.h"

#include <fmt/format.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

namespace fourmi::distributed {
namespace {

constexpr int64_t kShardAlign = 128;  // float32 elements: 512 bytes

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
  for (size_t k = 0; k < params_.size(); ++k) index_of_[params_[k].unsafeGetTensorImpl()] = k;
  ready_.assign(params_.size(), false);
  // Reverse registration order ≈ the order backward produces gradients.
  Bucket current;
  int64_t bytes = 0, elems = 0;
  const int64_t ranks = comm_.size();
  auto close_bucket = [&]() {
    if (current.params.empty()) return;
    current.sharded = options_.shard && bytes >= options_.shard_min_bytes;  // parameter bytes, alignment gaps aside
    current.padded = current.sharded ? (elems + ranks - 1) / ranks * ranks : elems;
    // A sharded bucket's gradients live in the gather buffer that make_shards() takes from the communicator.
    if (!current.sharded)
      current.flat = torch::zeros({current.padded}, params_[current.params[0]].options().dtype(torch::kFloat32));
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
      throw std::invalid_argument(
          fmt::format("GradReducer: parameter {} is {}; accepted: float32 (keep complex weights as real [...,2])", k,
                      c10::toString(p.scalar_type())));
    const int64_t pbytes = p.numel() * 4;
    const bool alone = 2 * pbytes >= options_.bucket_bytes;
    if (!current.params.empty() &&
        (alone || p.device() != params_[current.params[0]].device() || bytes + pbytes > cap)) {
      close_bucket();
      cap = options_.bucket_bytes;
    }
    // Sharded, parameters become views of the bucket: each starts 512-byte aligned, as the caching
    // allocator would place it (complex views need even offsets, vectorised kernels aligned ones).
    if (options_.shard) elems = (elems + kShardAlign - 1) / kShardAlign * kShardAlign;
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
  if (options_.shard) make_shards();
  for (size_t k = 0; k < params_.size(); ++k) {
    std::weak_ptr<bool> alive = alive_;
    torch::autograd::impl::set_post_acc_grad_hooks(params_[k], std::make_unique<AfterAccumulate>([this, k, alive] {
                                                     if (alive.lock()) on_grad(k);
                                                   }));
  }
}

GradReducer::~GradReducer() { *alive_ = false; }

void GradReducer::make_shards() {
  torch::NoGradGuard no_grad;
  const int64_t ranks = comm_.size(), rank = comm_.rank();
  // Every sharded bucket's parameters move into one buffer from the communicator (on NCCL, memory
  // its copy engines can all-gather), each bucket at a 512-byte-aligned offset that is the same on
  // every rank, and become views of it. set_data keeps each parameter's identity (optimizer state,
  // module registration).
  std::vector<int64_t> starts(buckets_.size(), 0);
  int64_t total = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    if (!buckets_[i].sharded) continue;
    starts[i] = total;
    total = (total + buckets_[i].padded + kShardAlign - 1) / kShardAlign * kShardAlign;
  }
  if (total == 0) return;
  const auto options = params_[0].options().dtype(torch::kFloat32);
  torch::Tensor buffer = comm_.gather_buffer(total, options);
  // The gradients too, in the same layout: where the communicator reduces over copy engines, it
  // does so only in its own buffers, so every sharded gradient is then reduced in its bucket.
  torch::Tensor grads = comm_.gather_buffer(total, options);
  for (size_t i = 0; i < buckets_.size(); ++i) {
    Bucket& b = buckets_[i];
    if (!b.sharded) continue;
    const int64_t padded = b.padded;
    b.flat = grads.narrow(0, starts[i], padded);
    b.reduce_in_flat = comm_.on_copy_engines(b.flat);
    b.values = buffer.narrow(0, starts[i], padded);
    for (size_t k = 0; k < b.params.size(); ++k) {
      auto& p = params_[b.params[k]];
      torch::Tensor view = b.values.narrow(0, b.offsets[k], p.numel());
      view.copy_(p.detach().reshape(-1));
      p.set_data(view.view(p.sizes()));
    }
    const int64_t block = padded / ranks;
    b.shard = b.values.narrow(0, rank * block, block);
  }
}

torch::Tensor GradReducer::grad_destination(const torch::Tensor& param) const {
  if (!options_.grad_into_bucket) return {};
  auto it = index_of_.find(param.unsafeGetTensorImpl());
  if (it == index_of_.end()) return {};
  const torch::Tensor& p = params_[it->second];  // float32, as the constructor checked
  if (p.grad().defined()) return {};
  const auto [bi, slot] = where_[it->second];
  torch::Tensor slice = slot_view(buckets_[bi], slot);
  if (slice.storage_offset() % 2 != 0 || reinterpret_cast<uintptr_t>(slice.data_ptr()) % 16 != 0) return {};
  return slice.view(p.sizes());
}

torch::Tensor GradReducer::slot_view(const Bucket& b, size_t slot) const {
  return b.flat.narrow(0, b.offsets[slot], params_[b.params[slot]].numel());
}

const torch::Tensor& GradReducer::shard(size_t bucket) const {
  if (!buckets_.at(bucket).sharded)
    throw std::logic_error(fmt::format(
        "GradReducer::shard({}): the bucket is not sharded (ReducerOptions::shard off, or under shard_min_bytes)",
        bucket));
  return buckets_[bucket].shard;
}

std::vector<torch::Tensor> GradReducer::update_tensors(size_t bucket) const {
  const Bucket& b = buckets_.at(bucket);
  if (b.sharded) return {b.shard};
  std::vector<torch::Tensor> out;
  for (size_t k : b.params) out.push_back(params_[k]);
  return out;
}

std::vector<torch::Tensor> GradReducer::update_tensors() const {
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i < buckets_.size(); ++i)
    for (auto& t : update_tensors(i)) out.push_back(t);
  return out;
}

void GradReducer::all_gather_parameters() {
  if (!options_.shard)
    throw std::logic_error("GradReducer::all_gather_parameters: the reducer was not built with ReducerOptions::shard");
  torch::NoGradGuard no_grad;
  for (size_t i = buckets_.size(); i-- > 0;) {
    Bucket& b = buckets_[i];
    if (!b.sharded) continue;
    b.shard.mutable_grad().reset();  // the reduced block is consumed: free it before the next backward
    b.gather = comm_.all_gather_in_place_async(b.values);
  }
}

void GradReducer::wait_parameters(size_t bucket) {
  Bucket& b = buckets_.at(bucket);
  if (!b.gather) return;
  b.gather->wait();
  b.gather.reset();
}

void GradReducer::wait_all_parameters() {
  for (size_t i = buckets_.size(); i-- > 0;) wait_parameters(i);
}

void GradReducer::broadcast_parameters(int root) {
  torch::NoGradGuard no_grad;
  for (auto& b : buckets_) {
    for (size_t i = 0; i < b.params.size(); ++i) slot_view(b, i).copy_(params_[b.params[i]].detach().reshape(-1));
    comm_.broadcast(b.flat, root);
    for (size_t i = 0; i < b.params.size(); ++i) {
      auto& p = params_[b.params[i]];
      p.detach().copy_(slot_view(b, i).view(p.sizes()));
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
  torch::Tensor slice = slot_view(b, slot);
  if (g.is_contiguous() && g.data_ptr() == slice.data_ptr()) {
    b.target = b.flat;  // backward wrote it there (grad_destination)
  } else if (!b.reduce_in_flat && b.params.size() == 1 && g.is_contiguous() && g.scalar_type() == torch::kFloat32 &&
             g.numel() == b.flat.numel()) {
    b.target = g.view(-1);  // a bucket of one parameter reduces its gradient in place: no copy
  } else {
    slice.copy_(g.reshape(-1));
    b.target = b.flat;
  }
  ready_[k] = true;
  if (--b.pending == 0) launch_ready();
}

void GradReducer::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& b = buckets_[next_launch_++];
    if (options_.bf16_compress) b.wire = b.target.to(torch::kBFloat16);
    torch::Tensor& payload = options_.bf16_compress ? b.wire : b.target;
    b.work = b.sharded ? comm_.reduce_scatter_in_place_async(payload, ReduceOp::kSum)
                       : comm_.all_reduce_async(payload, ReduceOp::kSum);
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
    torch::Tensor view = slot_view(b, slot);
    const auto& acc = params_[k].grad();
    if (acc.defined())
      view.copy_(acc.reshape(-1));
    else
      view.zero_();
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
    throw std::logic_error(
        fmt::format("GradReducer::wait_bucket({}): call launch_remaining() first, then wait for each of the {} buckets "
                    "once, in order (next: {})",
                    bucket, buckets_.size(), next_wait_));
  torch::NoGradGuard no_grad;
  Bucket& b = buckets_[bucket];
  b.work->wait();
  b.work.reset();
  if (++next_wait_ == buckets_.size()) sync_ = false;
  if (b.sharded) {
    // Only this rank's block of the payload holds the reduced sum.
    const int64_t block = b.shard.numel(), lo = comm_.rank() * block;
    torch::Tensor reduced = b.target.narrow(0, lo, block);
    if (options_.bf16_compress) reduced.copy_(b.wire.narrow(0, lo, block));
    b.shard.mutable_grad() = reduced;
    b.target = torch::Tensor();
    return;
  }
  if (options_.bf16_compress) b.target.copy_(b.wire);
  const bool in_place = !b.target.is_same(b.flat);
  b.target = torch::Tensor();
  if (in_place) return;  // the gradient itself was reduced
  // The reduced gradients are handed over as views of the bucket, without a copy. The bucket is
  // written again only by the next synchronised backward, which the caller's stream orders after
  // the optimizer step that reads these views.
  for (size_t i = 0; i < b.params.size(); ++i) {
    auto& p = params_[b.params[i]];
    p.mutable_grad() = slot_view(b, i).view(p.sizes());
  }
}

}  // namespace fourmi::distributed
