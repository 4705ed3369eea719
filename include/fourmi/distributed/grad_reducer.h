// grad_reducer.h — data-parallel gradient synchronisation, bucketed and overlapped with backward.
//
// Contract: constructed with the same parameter list (same order, shapes) on every rank of
// `comm`. Parameters are packed into buckets of about `bucket_bytes` in reverse registration
// order (the order backward produces them); a parameter of half a bucket or more is a bucket of its
// own. A post-accumulate-grad hook per parameter copies its gradient into the bucket (a bucket
// holding one parameter reduces that gradient in place); when a
// bucket is complete, and every earlier bucket has been launched, its
// all-reduce (SUM) starts, so communication overlaps the rest of backward and buckets are
// launched in the same order on every rank. finish() waits for all buckets (on CUDA it orders
// the current stream after them) and writes the reduced gradients back to `.grad`; or, to update
// parameters while later buckets are still being reduced, launch_remaining() then wait_bucket(i)
// for each bucket in launch order, each followed by the update of bucket_params(i). The caller
// scales the loss so that the SUM is the wanted average. With sync off (gradient-accumulation
// micro-steps) the hooks do nothing and gradients accumulate locally.
//
// Sharded (ZeRO stage 1, options.shard): each bucket of options.shard_min_bytes or more is padded
// to a multiple of the group size and reduce-scattered instead of all-reduced, and its parameters
// become views of one buffer from the communicator (Communicator::gather_buffer, shared by all
// sharded buckets; their gradients get a second one). wait_bucket(i) then hands
// this rank's block of the reduced gradient to shard(i) as its `.grad` (parameters' own `.grad` are
// not the reduced ones); the caller updates update_tensors(i) (the block: the same elements of the
// parameters, in place; for a smaller bucket, all-reduced as usual, its parameters), calls
// all_gather_parameters() once every bucket is updated, and wait_parameters(i) before anything
// reads bucket i's parameters on the current stream (forward, checkpoint, evaluation);
// wait_all_parameters() waits for all.
//
// Gradients written in place (options.grad_into_bucket, as DDP's gradient_as_bucket_view): a model
// whose backward can write a gradient where it is told (the FNO's spectral weights, mode_mix.h) asks
// grad_destination(param) during backward and gets the parameter's slice of its bucket, so the
// hook finds the gradient already there and copies nothing. Only while the parameter has no
// gradient yet (autograd adds later micro-steps' gradients into it in place, in the bucket too).
// The parameter's `.grad` is then a view of the bucket; after a sharded reduction, its block of
// this rank holds the reduced sum.
#pragma once

#include <torch/types.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "fourmi/distributed/communicator.h"

namespace fourmi::distributed {

struct ReducerOptions {
  int64_t bucket_bytes = 25 << 20;
  bool bf16_compress = false;
  bool shard = false;  // ZeRO stage 1: reduce-scatter, update this rank's block, all-gather parameters
  // Sharded, smaller buckets are all-reduced and updated whole on every rank: one latency-bound
  // collective instead of two, for an update too small to be worth splitting.
  int64_t shard_min_bytes = 0;
  bool grad_into_bucket = true;  // hand out grad_destination()s
};

class GradReducer {
 public:
  GradReducer(std::vector<torch::Tensor> params, Communicator& comm, ReducerOptions options);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Makes every rank's parameters equal to `root`'s.
  void broadcast_parameters(int root = 0);
  // Call before each backward: whether this backward's gradients are synchronised.
  void prepare(bool sync);
  // Call after backward when prepare(true) was called: launch_remaining() and every wait_bucket().
  void finish();
  // After backward: launches every bucket not launched yet (parameters without a gradient this
  // step contribute zeros). Then wait_bucket(0), ..., wait_bucket(n-1), in this order, each
  // ordering the current stream after that bucket's reduction and setting its parameters' `.grad`.
  void launch_remaining();
  void wait_bucket(size_t bucket);
  size_t num_buckets() const { return buckets_.size(); }
  // Indices (into the constructor's list) of the parameters of bucket `bucket`.
  const std::vector<size_t>& bucket_params(size_t bucket) const { return buckets_.at(bucket).params; }
  // Element offset of each of bucket_params(bucket) in the bucket's flat layout.
  const std::vector<int64_t>& bucket_offsets(size_t bucket) const { return buckets_.at(bucket).offsets; }
  size_t bucket_of(size_t param) const { return where_.at(param).first; }
  // Where backward may write `param`'s gradient: its slice of its bucket, shaped like it; undefined
  // when the option is off, `param` is not one of this reducer's, already has a gradient, or its slice
  // is not 16-byte aligned at an even offset (complex views). Safe to call from autograd's threads.
  torch::Tensor grad_destination(const torch::Tensor& param) const;

  // Sharded mode only. This rank's block of bucket `bucket`'s parameters, a 1-D view (padding
  // included) whose `.grad` is the reduced gradient block after wait_bucket(bucket).
  bool sharded() const { return options_.shard; }
  bool bucket_sharded(size_t bucket) const { return buckets_.at(bucket).sharded; }
  const torch::Tensor& shard(size_t bucket) const;
  // What this rank updates for bucket `bucket`: {shard(bucket)}, or the bucket's parameters when
  // it is not sharded. update_tensors() lists them for every bucket, in bucket order.
  std::vector<torch::Tensor> update_tensors(size_t bucket) const;
  std::vector<torch::Tensor> update_tensors() const;
  int64_t padded_numel(size_t bucket) const { return buckets_.at(bucket).padded; }
  // Launches each bucket's all-gather of parameters, last bucket first (the order forward uses them).
  void all_gather_parameters();
  // Orders the current stream after bucket `bucket`'s all-gather, if one is pending.
  bool gathering(size_t bucket) const { return static_cast<bool>(buckets_.at(bucket).gather); }
  void wait_parameters(size_t bucket);
  void wait_all_parameters();

 private:
  struct Bucket {
    std::vector<size_t> params;    // indices into params_
    std::vector<int64_t> offsets;  // element offset of each param in `flat`
    int64_t padded =
        0;  // elements of `flat`: the parameters', aligned, padded to a multiple of the group size when sharded
    torch::Tensor flat;    // float32 buffer on the params' device (sharded: a slice of the gradients' gather buffer)
    torch::Tensor target;  // what this step all-reduces: `flat`, or the gradient of a lone parameter
    torch::Tensor wire;    // bf16 copy when compressing
    size_t pending = 0;
    std::unique_ptr<Work> work;
    // Sharded mode: the parameters as one padded 1-D buffer, this rank's block of it, and the
    // pending all-gather of it.
    bool sharded = false;
    bool reduce_in_flat = false;  // the communicator reduces over copy engines only in `flat` (its buffer)
    torch::Tensor values, shard;
    std::unique_ptr<Work> gather;
  };
  void make_shards();
  // Parameter `slot` of bucket `b`: its elements of `flat`, 1-D.
  torch::Tensor slot_view(const Bucket& b, size_t slot) const;
  void on_grad(size_t param);
  void launch_ready();

  std::vector<torch::Tensor> params_;
  Communicator& comm_;
  ReducerOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> where_;      // param → (bucket, slot)
  std::unordered_map<const void*, size_t> index_of_;  // TensorImpl → index into params_
  std::vector<bool> ready_;
  size_t next_launch_ = 0;
  size_t next_wait_ = 0;
  bool sync_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace fourmi::distributed
