// MPI backend collectives with closed-form expectations, real and complex, uneven sizes, sub-groups.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "fourmi/distributed/mpi_communicator.h"

using namespace fourmi::distributed;

namespace {
std::unique_ptr<Communicator>& world() {
  static auto w = make_mpi_world_communicator(60.0);
  return w;
}
}  // namespace

TEST(MpiCommunicator, AllReduceSumOfRanks) {
  auto& c = *world();
  const int n = c.size(), r = c.rank();
  for (int64_t numel : {1, 7, 1000, 100003}) {
    torch::Tensor t = torch::full({numel}, static_cast<float>(r));
    c.all_reduce(t, ReduceOp::kSum);
    EXPECT_TRUE(torch::all(t == static_cast<float>(n * (n - 1) / 2)).item<bool>()) << numel;
  }
}

TEST(MpiCommunicator, AllReduceAvgMaxMinAndDouble) {
  auto& c = *world();
  const int n = c.size(), r = c.rank();
  torch::Tensor t = torch::full({5}, static_cast<double>(r + 1), torch::kFloat64);
  torch::Tensor avg = t.clone(), mx = t.clone(), mn = t.clone();
  c.all_reduce(avg, ReduceOp::kAvg);
  c.all_reduce(mx, ReduceOp::kMax);
  c.all_reduce(mn, ReduceOp::kMin);
  EXPECT_DOUBLE_EQ(avg[0].item<double>(), (n + 1) / 2.0);
  EXPECT_DOUBLE_EQ(mx[0].item<double>(), n);
  EXPECT_DOUBLE_EQ(mn[0].item<double>(), 1.0);
}

TEST(MpiCommunicator, AllReduceComplex) {
  auto& c = *world();
  const int n = c.size(), r = c.rank();
  torch::Tensor t = torch::complex(torch::full({3}, static_cast<float>(r)), torch::full({3}, 1.0f));
  c.all_reduce(t, ReduceOp::kSum);
  auto v = t[2].item<c10::complex<float>>();
  EXPECT_FLOAT_EQ(v.real(), n * (n - 1) / 2.0f);
  EXPECT_FLOAT_EQ(v.imag(), static_cast<float>(n));
  torch::Tensor bad = t.clone();
  EXPECT_THROW(c.all_reduce(bad, ReduceOp::kMax), std::invalid_argument);
}

TEST(MpiCommunicator, BroadcastFromEveryRoot) {
  auto& c = *world();
  for (int root = 0; root < c.size(); ++root) {
    torch::Tensor t = torch::full({11}, static_cast<float>(c.rank() * 10 + 3));
    c.broadcast(t, root);
    EXPECT_FLOAT_EQ(t[10].item<float>(), root * 10 + 3.0f);
  }
}

TEST(MpiCommunicator, AllGatherInRankOrder) {
  auto& c = *world();
  torch::Tensor t = torch::full({2, 3}, static_cast<float>(c.rank()));
  torch::Tensor all = c.all_gather(t);
  ASSERT_EQ(all.size(0), 2 * c.size());
  for (int r = 0; r < c.size(); ++r) EXPECT_FLOAT_EQ(all[2 * r + 1][2].item<float>(), static_cast<float>(r));
}

TEST(MpiCommunicator, ReduceScatterBlocks) {
  auto& c = *world();
  const int n = c.size();
  // Row i on rank r holds i + r; after the reduce, block r row j holds sum_r (r*2 + j + r').
  torch::Tensor t = torch::arange(2 * n, torch::kFloat32).unsqueeze(1).repeat({1, 4}) + c.rank();
  torch::Tensor mine = c.reduce_scatter(t, ReduceOp::kSum);
  ASSERT_EQ(mine.size(0), 2);
  for (int j = 0; j < 2; ++j) EXPECT_FLOAT_EQ(mine[j][0].item<float>(), n * (2.0f * c.rank() + j) + n * (n - 1) / 2.0f);
}

TEST(MpiCommunicator, ReduceScatterInPlaceLeavesEachRankItsBlock) {
  auto& c = *world();
  const int n = c.size();
  // Element i on rank r holds i + r: block r's element j sums to n (3r + j) + n (n - 1) / 2.
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    torch::Tensor t = torch::arange(3 * n, dtype) + c.rank();
    c.reduce_scatter_in_place_async(t, ReduceOp::kSum)->wait();
    for (int j = 0; j < 3; ++j)
      EXPECT_DOUBLE_EQ(t[3 * c.rank() + j].item<double>(), n * (3.0 * c.rank() + j) + n * (n - 1) / 2.0)
          << c10::toString(dtype);
  }
  // Complex, averaged: rank r contributes (r + i r) everywhere, so every element averages to (n - 1)/2 (1 + i).
  torch::Tensor z = torch::complex(torch::full({2 * n}, c.rank() * 1.0f), torch::full({2 * n}, c.rank() * 1.0f));
  c.reduce_scatter_in_place_async(z, ReduceOp::kAvg)->wait();
  torch::Tensor mine = z.narrow(0, 2 * c.rank(), 2);
  EXPECT_TRUE(torch::allclose(torch::real(mine), torch::full({2}, (n - 1) / 2.0f)));
  EXPECT_TRUE(torch::allclose(torch::imag(mine), torch::full({2}, (n - 1) / 2.0f)));
  if (n > 1) {
    torch::Tensor odd = torch::zeros({n + 1});
    EXPECT_THROW(c.reduce_scatter_in_place_async(odd, ReduceOp::kSum),
                 std::invalid_argument);  // not divisible: before any MPI call
  }
}

TEST(MpiCommunicator, AllGatherInPlaceFillsEveryBlock) {
  auto& c = *world();
  const int n = c.size();
  // Each rank writes only its own block (rank r: 10 r + j); the rest holds -1 until the gather.
  torch::Tensor t = torch::full({4 * n}, -1.0, torch::kFloat64);
  for (int j = 0; j < 4; ++j) t[4 * c.rank() + j] = 10.0 * c.rank() + j;
  c.all_gather_in_place_async(t)->wait();
  for (int r = 0; r < n; ++r)
    for (int j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(t[4 * r + j].item<double>(), 10.0 * r + j);
  // Over a sub-group of the even or the odd ranks.
  auto sub = c.split(c.rank() % 2, c.rank(), "data");
  torch::Tensor s = torch::zeros({2 * sub->size()}, torch::kInt64);
  s.narrow(0, 2 * sub->rank(), 2).fill_(c.rank());
  sub->all_gather_in_place_async(s)->wait();
  for (int r = 0; r < sub->size(); ++r) EXPECT_EQ(s[2 * r + 1].item<int64_t>(), 2 * r + c.rank() % 2);
}

TEST(MpiCommunicator, GatherBufferIsZeroedAndGathersInPlaceBySlice) {
  auto& c = *world();
  const int n = c.size();
  torch::Tensor buf = c.gather_buffer(6 * n + 3, torch::TensorOptions().dtype(torch::kFloat32));
  ASSERT_EQ(buf.numel(), 6 * n + 3);
  EXPECT_EQ(buf.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(buf.device().is_cpu());
  EXPECT_EQ(buf.abs().sum().item<float>(), 0.0f);
  // A slice at the same offset on every rank, as the sharded optimizer gathers each bucket.
  torch::Tensor slice = buf.narrow(0, 3, 6 * n);
  slice.narrow(0, 6 * c.rank(), 6).fill_(static_cast<float>(c.rank() + 1));
  c.all_gather_in_place_async(slice)->wait();
  for (int r = 0; r < n; ++r) EXPECT_EQ(buf.narrow(0, 3 + 6 * r, 6).sum().item<float>(), 6.0f * (r + 1));
  EXPECT_EQ(buf.narrow(0, 0, 3).abs().sum().item<float>(), 0.0f);  // outside the slice: untouched
}

TEST(MpiCommunicator, SplitIntoSubGroups) {
  auto& c = *world();
  auto sub = c.split(c.rank() % 2, c.rank(), "data");
  int expected_size = (c.size() + 1 - c.rank() % 2) / 2;
  EXPECT_EQ(sub->size(), expected_size);
  EXPECT_EQ(sub->rank(), c.rank() / 2);
  EXPECT_EQ(sub->group(), "data");
  torch::Tensor t = torch::full({1}, static_cast<float>(c.rank()));
  sub->all_reduce(t);
  float expect = 0;
  for (int r = c.rank() % 2; r < c.size(); r += 2) expect += r;
  EXPECT_FLOAT_EQ(t[0].item<float>(), expect);
  sub->barrier();
}

TEST(MpiCommunicator, RecordsToCommLogWithBusBandwidth) {
  auto& c = *world();
  CommLog log;
  c.set_log(&log);
  torch::Tensor t = torch::ones({1 << 16});
  c.all_reduce(t);
  c.set_log(nullptr);
  auto recs = log.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].op, "all_reduce");
  EXPECT_EQ(recs[0].bytes, 4 << 16);
  const double n = c.size();
  if (c.size() > 1) EXPECT_NEAR(recs[0].busbw(), recs[0].algbw() * 2 * (n - 1) / n, 1e-6 * recs[0].algbw());
}

TEST(MpiCommunicator, PausedCommLogDropsRecords) {
  auto& c = *world();
  CommLog log;
  c.set_log(&log);
  torch::Tensor t = torch::ones({8});
  log.set_paused(true);
  c.all_reduce(t);
  c.barrier();
  log.set_paused(false);
  c.all_reduce(t);
  c.set_log(nullptr);
  auto recs = log.records();
  ASSERT_EQ(recs.size(), 1u);  // only the collective made while the log was not paused
  EXPECT_EQ(recs[0].op, "all_reduce");
}

TEST(MpiCommunicator, RejectsCudaOrNonContiguousTensors) {
  auto& c = *world();
  torch::Tensor t = torch::ones({4, 4}).t();
  EXPECT_THROW(c.all_reduce(t), std::invalid_argument);
  c.barrier();
}
