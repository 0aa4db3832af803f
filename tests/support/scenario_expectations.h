// The assertion every scenario test makes: the kernel reported the death inside the
// model's interval, with the model's errno.
#pragma once

#include <gtest/gtest.h>

#include "support/scenarios.h"
#include "tcpka/errno_name.h"

namespace tcpka::testing {

inline void expect_within_prediction(const ScenarioRun& run) {
  ASSERT_TRUE(run.predicted.detected);
  EXPECT_TRUE(run.predicted.admits(run.measured.after))
      << "measured " << format_seconds(run.measured.after) << ", predicted "
      << format_seconds(run.predicted.earliest) << ".." << format_seconds(run.predicted.latest);
  EXPECT_EQ(errno_name(run.measured.error), errno_name(run.predicted.error));
}

}  // namespace tcpka::testing
