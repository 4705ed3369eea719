// schedule.h — learning-rate schedules, a pure function of the epoch (so resuming needs no state).
#pragma once

#include "fourmi/config/config.h"

namespace fourmi::train {

double learning_rate(const config::TrainConfig& c, int epoch);

}  // namespace fourmi::train
