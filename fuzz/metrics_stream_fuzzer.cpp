// serve's /metrics request reader fed as a socket would feed it: the input is a series of
// reads (a 1-byte length, then that many bytes), appended one after the other. The
// verdict after each read is the verdict on everything received so far, and once given
// it stays.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/metrics_request.h"
#include "property.h"

using tcpka::fuzz::require;
using tcpka::tools::RequestReader;
using tcpka::tools::RequestVerdict;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = tcpka::fuzz::as_text(data, size);
  RequestReader reader;
  std::string received;
  RequestVerdict first = RequestVerdict::incomplete;
  while (!rest.empty()) {
    const std::size_t length =
        std::min<std::size_t>(static_cast<unsigned char>(rest[0]), rest.size() - 1);
    const std::string_view chunk = rest.substr(1, length);
    rest.remove_prefix(1 + length);
    received += chunk;
    const RequestVerdict verdict = reader.add(chunk);
    require(verdict == tcpka::tools::classify_request(received),
            "after each read, the verdict on all received so far", received);
    if (first == RequestVerdict::incomplete) first = verdict;
    require(first == RequestVerdict::incomplete || verdict == first, "a verdict stays given");
  }
  return 0;
}
