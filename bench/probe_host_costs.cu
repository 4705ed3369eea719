// probe_host_costs.cu — what the CUDA calls that a profiler adds to a step cost on this machine.
//
// The profiler's cost on a launch-bound step is host time plus any latency it adds between
// streams. This probe measures, on an otherwise idle GPU:
//   * host time per call: cudaEventRecord (timing and disable-timing events), cudaStreamWaitEvent,
//     an empty kernel launch, each on an idle stream and behind a busy one;
//   * device latency of a cross-stream hand-off (record on A, wait on B, tiny kernel on B, back),
//     with timing and disable-timing events.
// Build and run: nvcc -O2 -o probe bench/probe_host_costs.cu && ./probe > host_costs.json
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define CHECK(x)                                                                                 \
  do {                                                                                           \
    cudaError_t rc = (x);                                                                        \
    if (rc != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(rc));    \
      std::exit(1);                                                                              \
    }                                                                                            \
  } while (0)

__global__ void empty_kernel() {}
__global__ void spin_kernel(long long cycles) {
  long long start = clock64();
  while (clock64() - start < cycles) {
  }
}

using Clock = std::chrono::steady_clock;
static double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

int main() {
  CHECK(cudaSetDevice(0));
  cudaStream_t a, b;
  CHECK(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking));
  const int n = 2000;
  std::vector<cudaEvent_t> timing(n), plain(n);
  for (int i = 0; i < n; ++i) {
    CHECK(cudaEventCreate(&timing[i]));
    CHECK(cudaEventCreateWithFlags(&plain[i], cudaEventDisableTiming));
  }
  empty_kernel<<<1, 1, 0, a>>>();
  CHECK(cudaDeviceSynchronize());
  std::string out = "{\n";
  auto add = [&](const char* key, double v, bool last = false) {
    out += "  \"" + std::string(key) + "\": " + std::to_string(v) + (last ? "\n" : ",\n");
  };
  for (int busy = 0; busy < 2; ++busy) {
    // A short spin instead of a 1 s one for the busy case: the queue stays non-empty during the batch.
    auto run = [&](auto fn) {
      std::vector<double> batches;
      for (int rep = 0; rep < 5; ++rep) {
        if (busy) spin_kernel<<<1, 1, 0, a>>>(200000000LL);  // ~0.1 s at ~2 GHz
        auto t0 = Clock::now();
        for (int i = 0; i < n; ++i) fn(i);
        batches.push_back(us_since(t0) / n);
        CHECK(cudaDeviceSynchronize());
      }
      std::sort(batches.begin(), batches.end());
      return batches[2];
    };
    const std::string tag = busy ? "_busy_stream" : "_idle_stream";
    add(("event_record_timing_us" + tag).c_str(), run([&](int i) { CHECK(cudaEventRecord(timing[i], a)); }));
    add(("event_record_no_timing_us" + tag).c_str(), run([&](int i) { CHECK(cudaEventRecord(plain[i], a)); }));
    add(("kernel_launch_us" + tag).c_str(), run([&](int) { empty_kernel<<<1, 1, 0, a>>>(); }));
    add(("stream_wait_event_timing_us" + tag).c_str(), run([&](int i) {
      CHECK(cudaEventRecord(timing[i], a));
      CHECK(cudaStreamWaitEvent(b, timing[i], 0));
    }));
    add(("stream_wait_event_no_timing_us" + tag).c_str(), run([&](int i) {
      CHECK(cudaEventRecord(plain[i], a));
      CHECK(cudaStreamWaitEvent(b, plain[i], 0));
    }));
  }
  {
    auto t0 = Clock::now();
    std::vector<cudaEvent_t> fresh(n);
    for (int i = 0; i < n; ++i) CHECK(cudaEventCreate(&fresh[i]));
    add("event_create_timing_us", us_since(t0) / n);
    for (auto e : fresh) CHECK(cudaEventDestroy(e));
    t0 = Clock::now();
    for (int i = 0; i < n; ++i) CHECK(cudaEventCreateWithFlags(&fresh[i], cudaEventDisableTiming));
    add("event_create_no_timing_us", us_since(t0) / n);
    for (auto e : fresh) CHECK(cudaEventDestroy(e));
  }
  // Cross-stream round trips: tiny kernel on a, a -> b hand-off, tiny kernel on b, b -> a hand-off.
  for (int t = 0; t < 2; ++t) {
    std::vector<cudaEvent_t>& ev = t ? timing : plain;
    const int rounds = n / 2;
    std::vector<double> reps;
    for (int rep = 0; rep < 5; ++rep) {
      CHECK(cudaDeviceSynchronize());
      auto t0 = Clock::now();
      for (int i = 0; i < rounds; ++i) {
        empty_kernel<<<1, 1, 0, a>>>();
        CHECK(cudaEventRecord(ev[2 * i], a));
        CHECK(cudaStreamWaitEvent(b, ev[2 * i], 0));
        empty_kernel<<<1, 1, 0, b>>>();
        CHECK(cudaEventRecord(ev[2 * i + 1], b));
        CHECK(cudaStreamWaitEvent(a, ev[2 * i + 1], 0));
      }
      CHECK(cudaDeviceSynchronize());
      reps.push_back(us_since(t0) / rounds);
    }
    std::sort(reps.begin(), reps.end());
    add(t ? "round_trip_two_streams_timing_events_us" : "round_trip_two_streams_no_timing_events_us", reps[2]);
  }
  {
    std::vector<double> reps;
    for (int rep = 0; rep < 5; ++rep) {
      CHECK(cudaDeviceSynchronize());
      auto t0 = Clock::now();
      for (int i = 0; i < n; ++i) empty_kernel<<<1, 1, 0, a>>>();
      CHECK(cudaDeviceSynchronize());
      reps.push_back(us_since(t0) / n);
    }
    std::sort(reps.begin(), reps.end());
    add("one_stream_empty_kernel_throughput_us", reps[2], true);
  }
  out += "}\n";
  std::fputs(out.c_str(), stdout);
  return 0;
}
