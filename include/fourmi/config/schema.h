// schema.h — the single description of every config key: name, field and accepted values.
//
// `describe(visitor, struct)` lists the fields of one struct. The loader, the YAML
// writer and the start-up table are visitors over this one description, so a key
// cannot be parsed under one name and printed under another.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "fourmi/config/config.h"

namespace fourmi::config {

// A rule returns "" when the value is accepted, else a phrase saying what is accepted.
template <class T>
using Rule = std::function<std::string(const T&)>;

template <class T>
Rule<T> at_least(T lo) {
  return [lo](const T& v) { return v >= lo ? std::string() : "a value >= " + std::to_string(lo); };
}
template <class T>
Rule<T> in_range(T lo, T hi) {
  return [lo, hi](const T& v) {
    return (v >= lo && v <= hi) ? std::string() : "a value in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  };
}
inline Rule<double> positive() {
  return [](const double& v) { return v > 0 ? std::string() : std::string("a value > 0"); };
}
inline Rule<std::string> one_of(std::initializer_list<const char*> options) {
  std::vector<std::string> opts(options.begin(), options.end());
  return [opts](const std::string& v) {
    for (const auto& o : opts)
      if (v == o) return std::string();
    std::string s = "one of";
    for (const auto& o : opts) s += " '" + o + "'";
    return s;
  };
}
inline Rule<std::vector<int>> each_at_least(int lo) {
  return [lo](const std::vector<int>& v) {
    if (v.empty() || v.size() > 3) return std::string("a list of 1 to 3 integers >= ") + std::to_string(lo);
    for (int x : v)
      if (x < lo) return "a list of 1 to 3 integers >= " + std::to_string(lo);
    return std::string();
  };
}
inline Rule<std::vector<int>> distinct_each_at_least(int lo) {
  return [lo](const std::vector<int>& v) {
    std::string want = "a list (possibly empty) of distinct integers >= " + std::to_string(lo);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] < lo) return want;
      for (size_t j = 0; j < i; ++j)
        if (v[j] == v[i]) return want;
    }
    return std::string();
  };
}

template <class V>
void describe(V& v, RunConfig& c) {
  v("name", c.name);
  v("dir", c.dir);
  v("seed", c.seed);
  v("device", c.device);
  v("progress", c.progress);
  v("tf32", c.tf32);
  v("compute_stream", c.compute_stream);
}
template <class V>
void describe(V& v, Burgers1dConfig& c) {
  v("resolution", c.resolution, at_least(16));
  v("viscosity", c.viscosity, positive());
  v("t_final", c.t_final, positive());
  v("grf_gamma", c.grf_gamma, positive());
  v("grf_tau", c.grf_tau, positive());
  v("grf_sigma", c.grf_sigma, positive());
  v("cfl", c.cfl, in_range(1e-3, 1.0));
}
template <class V>
void describe(V& v, Darcy2dConfig& c) {
  v("resolution", c.resolution, at_least(5));
  v("grf_gamma", c.grf_gamma, positive());
  v("grf_tau", c.grf_tau, positive());
  v("grf_sigma", c.grf_sigma, positive());
  v("a_pos", c.a_pos, positive());
  v("a_neg", c.a_neg, positive());
  v("tol", c.tol, in_range(1e-14, 1e-2));
  v("max_iter", c.max_iter, at_least(1));
}
template <class V>
void describe(V& v, NavierStokes2dConfig& c) {
  v("resolution", c.resolution, at_least(8));
  v("store_resolution", c.store_resolution, at_least(4));
  v("viscosity", c.viscosity, positive());
  v("snapshots", c.snapshots, at_least(1));
  v("interval", c.interval, positive());
  v("grf_alpha", c.grf_alpha, positive());
  v("grf_tau", c.grf_tau, positive());
  v("grf_sigma", c.grf_sigma, positive());
  v("forcing", c.forcing, at_least(0.0));
  v("cfl", c.cfl, in_range(1e-3, 1.0));
  v("dt_max", c.dt_max, positive());
  v("layout", c.layout, one_of({"channels", "spacetime"}));
}
template <class V>
void describe(V& v, DatagenConfig& c) {
  v("pde", c.pde, one_of({"burgers1d", "darcy2d", "navier_stokes2d"}));
  v("out", c.out);
  v("n_train", c.n_train, at_least(1));
  v("n_test", c.n_test, at_least(1));
  v("shards", c.shards, at_least(1));
  v("batch", c.batch, at_least(1));
  v("seed", c.seed);
  v("check_refinement", c.check_refinement, at_least(0));
  v("levels", c.levels, distinct_each_at_least(2));
  v.section("burgers1d", c.burgers1d);
  v.section("darcy2d", c.darcy2d);
  v.section("navier_stokes2d", c.navier_stokes2d);
}
inline Rule<std::vector<int>> time_window() {
  return [](const std::vector<int>& v) {
    return v.size() <= 2 ? std::string() : std::string("[] (all), [begin] (one index) or [begin, end]");
  };
}
inline Rule<std::string> axis_letters() {
  return [](const std::string& a) {
    std::string want = "one letter per axis of the stored array, each once: n (sample, required), c, t, x, y, z";
    if (a.empty()) return std::string();  // checked when importing: the field's axes are needed then
    for (size_t i = 0; i < a.size(); ++i)
      if (std::string("nctxyz").find(a[i]) == std::string::npos || a.find(a[i]) != i) return want;
    return a.find('n') == std::string::npos ? want : std::string();
  };
}
template <class V>
void describe(V& v, ImportFieldConfig& c) {
  v("name", c.name);
  v("axes", c.axes, axis_letters());
  v("time", c.time, time_window());
  v("time_as", c.time_as, one_of({"channels", "space"}));
  v("repeat", c.repeat, at_least(0));
}
template <class V>
void describe(V& v, ImportConfig& c) {
  v("format", c.format, one_of({"auto", "mat", "hdf5", "npy"}));
  v("path", c.path);
  v("test_path", c.test_path);
  v("test_start", c.test_start, at_least(-1));
  v("n_train", c.n_train, at_least(0));
  v("n_test", c.n_test, at_least(0));
  v("shards", c.shards, at_least(1));
  v("out", c.out);
  v.section("x", c.x);
  v.section("y", c.y);
}
template <class V>
void describe(V& v, DataConfig& c) {
  v("train", c.train);
  v("test", c.test);
  v("n_train", c.n_train, at_least(0));
  v("n_test", c.n_test, at_least(0));
  v("sub", c.sub, at_least(1));
  v("normalize", c.normalize);
  v("prefetch", c.prefetch, at_least(1));
  v("readahead", c.readahead, at_least(-1));
  v("shuffle", c.shuffle);
  v("verify_checksums", c.verify_checksums);
  v("stored_levels", c.stored_levels);
}
template <class V>
void describe(V& v, ModelConfig& c) {
  v("name", c.name, one_of({"fno"}));
  v("dim", c.dim, in_range(1, 3));
  v("in_channels", c.in_channels, at_least(1));
  v("out_channels", c.out_channels, at_least(1));
  v("width", c.width, at_least(1));
  v("modes", c.modes, each_at_least(1));
  v("layers", c.layers, at_least(1));
  v("projection_width", c.projection_width, at_least(1));
  v("grid_embedding", c.grid_embedding);
  v("padding", c.padding, in_range(0.0, 1.0));
  v("rollout_steps", c.rollout_steps, at_least(0));
  v("spectral_transform", c.spectral_transform);
}
template <class V>
void describe(V& v, TrainConfig& c) {
  v("epochs", c.epochs, at_least(1));
  v("batch_size", c.batch_size, at_least(1));
  v("grad_accum", c.grad_accum, at_least(1));
  v("optimizer", c.optimizer);
  v("lr", c.lr, positive());
  v("weight_decay", c.weight_decay, at_least(0.0));
  v("schedule", c.schedule);
  v("step_size", c.step_size, at_least(1));
  v("gamma", c.gamma, in_range(0.0, 1.0));
  v("min_lr", c.min_lr, at_least(0.0));
  v("eval_every", c.eval_every, at_least(1));
  v("checkpoint_every", c.checkpoint_every, at_least(1));
  v("checkpoints", c.checkpoints);
  v("cuda_graph", c.cuda_graph);
}
template <class V>
void describe(V& v, ParallelConfig& c) {
  v("data", c.data);
  v("modes", c.modes);
  v("backend", c.backend);
  v("bucket_mb", c.bucket_mb, positive());
  v("bf16_compress", c.bf16_compress);
  v("timeout_s", c.timeout_s, positive());
  v("shard_optimizer", c.shard_optimizer);
  v("shard_min_mb", c.shard_min_mb);
  v("grad_into_bucket", c.grad_into_bucket);
  v("copy_engine_gather", c.copy_engine_gather);
  v("copy_engine_reduce_scatter", c.copy_engine_reduce_scatter);
}
template <class V>
void describe(V& v, ProfileConfig& c) {
  v("enabled", c.enabled);
  v("warmup_steps", c.warmup_steps, at_least(0));
  v("steps", c.steps, at_least(1));
  v("sample_ops", c.sample_ops);
  v("op_samples", c.op_samples, at_least(1));
  v("peaks", c.peaks);
  v("peak_fp32_gflops", c.peak_fp32_gflops, at_least(0.0));
  v("peak_tf32_gflops", c.peak_tf32_gflops, at_least(0.0));
  v("peak_bf16_gflops", c.peak_bf16_gflops, at_least(0.0));
  v("peak_fp64_gflops", c.peak_fp64_gflops, at_least(0.0));
  v("peak_mem_gbs", c.peak_mem_gbs, at_least(0.0));
}
template <class V>
void describe(V& v, DebugConfig& c) {
  v("deterministic", c.deterministic);
  v("check_finite", c.check_finite);
  v("rank_logs", c.rank_logs);
  v("sync", c.sync);
}
template <class V>
void describe(V& v, Config& c) {
  v.section("run", c.run);
  v.section("datagen", c.datagen);
  v.section("import", c.import_data);
  v.section("data", c.data);
  v.section("model", c.model);
  v.section("train", c.train);
  v.section("parallel", c.parallel);
  v.section("profile", c.profile);
  v.section("debug", c.debug);
}

}  // namespace fourmi::config
