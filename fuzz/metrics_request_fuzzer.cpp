// serve's /metrics request reader on any bytes, whole and byte by byte: the verdict does
// not depend on how the bytes arrive, and once given it stays whatever follows.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/metrics_request.h"
#include "property.h"

using tcpka::fuzz::require;
using tcpka::tools::RequestReader;
using tcpka::tools::RequestVerdict;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view request = tcpka::fuzz::as_text(data, size);
  const RequestVerdict whole = tcpka::tools::classify_request(request);
  if (size >= tcpka::tools::kMaxRequestHead) {
    require(whole != RequestVerdict::incomplete, "a request head is bounded");
  }
  // Byte by byte: the first verdict given is the one on the shortest prefix that decides,
  // and it does not change with the bytes that follow.
  RequestReader reader;
  std::size_t decided_at = size;
  for (std::size_t i = 0; i < size; ++i) {
    const RequestVerdict verdict = reader.add(request.substr(i, 1));
    if (verdict != RequestVerdict::incomplete && decided_at == size) {
      decided_at = i + 1;
      require(tcpka::tools::classify_request(request.substr(0, decided_at)) == verdict,
              "the verdict on a prefix is the prefix's");
    }
  }
  require(reader.verdict() == whole, "byte by byte gives the verdict on the whole");
  if (whole == RequestVerdict::metrics || whole == RequestVerdict::metrics_head) {
    require(request.substr(0, decided_at).find('\0') == std::string_view::npos,
            "a request answered with metrics holds no NUL");
  }
  return 0;
}
