// sampler.h — which samples each data-parallel rank reads at each step of an epoch.
//
// Contract: every rank constructs the sampler with the same (num_samples, global_batch,
// seed) and gets the same number of steps per epoch. Step s of epoch e covers positions
// [s*B, min((s+1)*B, N)) of a permutation fixed by (seed, e); rank r takes its contiguous
// slice of that window. Over an epoch the ranks' samples are disjoint and cover every sample
// once. A rank whose slice of the last window is empty gets no indices and must still take
// part in the step's collectives (the trainer feeds it a zero-weight sample).
#pragma once

#include <cstdint>
#include <vector>

namespace fourmi::data {

class Sampler {
 public:
  Sampler(int64_t num_samples, int64_t global_batch, int data_rank, int data_ranks, std::uint64_t seed, bool shuffle);
  int64_t steps_per_epoch() const;
  // Samples in the whole step (all ranks together): the divisor of the gradient average.
  int64_t global_count(int64_t step) const;
  // This rank's sample indices at (epoch, step).
  std::vector<int64_t> indices(int64_t epoch, int64_t step) const;
  // Largest per-rank slice, the shape of a full local batch.
  int64_t local_batch() const { return (global_batch_ + data_ranks_ - 1) / data_ranks_; }

 private:
  const std::vector<int64_t>& permutation(int64_t epoch) const;
  int64_t n_, global_batch_;
  int rank_, data_ranks_;
  std::uint64_t seed_;
  bool shuffle_;
  // The epoch's permutation, built once per epoch rather than once per step (not thread-safe:
  // a sampler is used by one loader thread).
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int64_t> perm_;
};

}  // namespace fourmi::data
