#include <gtest/gtest.h>

#include "cli/table.h"

namespace tcpka::tools {
namespace {

TEST(TextTable, PadsColumnsToTheWidestCell) {
  TextTable table({"peer", "idle", "sending"});
  table.add_row({"process exited", "at once EOF", "at once ECONNRESET"});
  table.add_row({"hung", "never", "never"});
  EXPECT_EQ(table.render(),
            "peer            idle         sending\n"
            "process exited  at once EOF  at once ECONNRESET\n"
            "hung            never        never\n");
}

TEST(TextTable, LeavesNoTrailingBlanks) {
  TextTable table({"a", "b"});
  table.add_row({"long cell", ""});
  EXPECT_EQ(table.render(), "a          b\nlong cell\n");
}

}  // namespace
}  // namespace tcpka::tools
