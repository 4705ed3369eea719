#include "fourmi/data/sampler.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>

#include "fourmi/data/grf.h"
#include "fourmi/util/partition.h"

namespace fourmi::data {

Sampler::Sampler(int64_t num_samples, int64_t global_batch, int data_rank, int data_ranks, std::uint64_t seed,
                 bool shuffle)
    : n_(num_samples),
      global_batch_(global_batch),
      rank_(data_rank),
      data_ranks_(data_ranks),
      seed_(seed),
      shuffle_(shuffle) {
  if (n_ <= 0 || global_batch_ <= 0 || data_ranks_ <= 0 || rank_ < 0 || rank_ >= data_ranks_)
    throw std::invalid_argument("Sampler: needs samples > 0, batch > 0 and 0 <= rank < ranks");
}

int64_t Sampler::steps_per_epoch() const { return (n_ + global_batch_ - 1) / global_batch_; }

int64_t Sampler::global_count(int64_t step) const { return std::min(global_batch_, n_ - step * global_batch_); }

const std::vector<int64_t>& Sampler::permutation(int64_t epoch) const {
  if (epoch == cached_epoch_) return perm_;
  std::vector<int64_t>& p = perm_;
  p.resize(n_);
  std::iota(p.begin(), p.end(), 0);
  if (shuffle_) {
    std::mt19937_64 rng(sample_seed(seed_, /*stream=*/7, static_cast<std::uint64_t>(epoch)));
    for (int64_t i = n_ - 1; i > 0; --i) {  // Fisher–Yates with our own draw: identical on every libstdc++
      int64_t j = static_cast<int64_t>(rng() % static_cast<std::uint64_t>(i + 1));
      std::swap(p[i], p[j]);
    }
  }
  cached_epoch_ = epoch;
  return p;
}

std::vector<int64_t> Sampler::indices(int64_t epoch, int64_t step) const {
  const int64_t begin = step * global_batch_;
  const int64_t count = global_count(step);
  // Split `count` as evenly as possible: the first (count % ranks) ranks take one more.
  const util::Piece mine = util::balanced_piece(count, rank_, data_ranks_);
  const auto& perm = permutation(epoch);
  return std::vector<int64_t>(perm.begin() + begin + mine.start, perm.begin() + begin + mine.start + mine.count);
}

}  // namespace fourmi::data
