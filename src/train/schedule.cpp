#include "fourmi/train/schedule.h"

#include <cmath>

namespace fourmi::train {

double learning_rate(const config::TrainConfig& c, int epoch) {
  if (c.schedule == config::Schedule::kStep) return c.lr * std::pow(c.gamma, epoch / c.step_size);
  if (c.schedule == config::Schedule::kCosine)
    return c.min_lr + 0.5 * (c.lr - c.min_lr) * (1.0 + std::cos(M_PI * epoch / c.epochs));
  return c.lr;
}

}  // namespace fourmi::train
