// partition.h — splitting `total` items into `parts` contiguous, balanced pieces: the first
// total % parts pieces take one more. Shards of a dataset, ranks' slices of a batch and mode
// blocks of a spectral layer are all cut this way.
#pragma once

#include <algorithm>
#include <cstdint>

namespace fourmi::util {

struct Piece {
  int64_t start = 0, count = 0;
};

inline Piece balanced_piece(int64_t total, int64_t part, int64_t parts) {
  const int64_t base = total / parts, extra = total % parts;
  return {part * base + std::min(part, extra), base + (part < extra ? 1 : 0)};
}

}  // namespace fourmi::util
