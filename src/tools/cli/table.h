// A plain-text table with columns padded to their widest cell, like `ss` prints.
#pragma once

#include <string>
#include <vector>

namespace tcpka::tools {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header);

  // Precondition: as many cells as the header has columns.
  void add_row(std::vector<std::string> cells);

  // Every row on its own line, columns separated by two spaces, no trailing blanks.
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

}  // namespace tcpka::tools
