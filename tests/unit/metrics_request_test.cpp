// What serve's /metrics endpoint makes of the bytes a client sends: the verdict on real
// scrapers' requests, on what is not HTTP, and on requests cut into any pieces.
#include "cli/metrics_request.h"

#include <gtest/gtest.h>

#include <string>

namespace tcpka::tools {
namespace {

using enum RequestVerdict;
using namespace std::string_view_literals;

TEST(MetricsRequest, AnswersScrapers) {
  // As curl 7.88, Python's urllib and Prometheus 2.x send them.
  EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9100\r\n"
                             "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
            metrics);
  EXPECT_EQ(classify_request("GET /metrics?format=prometheus HTTP/1.1\r\nAccept-Encoding: "
                             "identity\r\nHost: x\r\nConnection: close\r\n\r\n"),
            metrics);
  EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;"
                             "version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
                             "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n"),
            metrics);
  EXPECT_EQ(classify_request("GET / HTTP/1.0\r\n\r\n"), metrics);
  EXPECT_EQ(classify_request("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), metrics_head);
  // A bare LF ends a line too, and an empty line before the request is skipped.
  EXPECT_EQ(classify_request("\r\nGET /metrics HTTP/1.1\nHost: x\n\n"), metrics);
}

TEST(MetricsRequest, WaitsForTheEndOfTheHead) {
  EXPECT_EQ(classify_request(""), incomplete);
  EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nHost: x\r\n"), incomplete);
  EXPECT_EQ(classify_request("GET /metrics HTTP/1.1"), incomplete);
  // HTTP/0.9 has no version and no head to end: it never becomes a request here.
  EXPECT_EQ(classify_request("GET /metrics\r\n"), bad_request);
}

TEST(MetricsRequest, TellsWhatIsWrong) {
  EXPECT_EQ(classify_request("GET /favicon.ico HTTP/1.1\r\n\r\n"), not_found);
  EXPECT_EQ(classify_request("GET /metricsx HTTP/1.1\r\n\r\n"), not_found);
  EXPECT_EQ(classify_request("POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"),
            method_not_allowed);
  EXPECT_EQ(classify_request("get /metrics HTTP/1.1\r\n\r\n"), method_not_allowed);
  EXPECT_EQ(classify_request("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), version_not_supported);
  EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\n Folded: no\r\n\r\n"), bad_request);
  EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n"sv), bad_request);
  EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nNo colon\r\n\r\n"), bad_request);
  EXPECT_EQ(classify_request("GET  /metrics HTTP/1.1\r\n\r\n"), bad_request);
}

// Garbage is refused at its first wrong byte: no waiting for a head that never ends.
TEST(MetricsRequest, RefusesGarbageAtOnce) {
  EXPECT_EQ(classify_request("\x16\x03\x01"), bad_request);  // a TLS ClientHello
  EXPECT_EQ(classify_request("G\0"sv), bad_request);
  EXPECT_EQ(classify_request("GET /me\x01"), bad_request);
}

TEST(MetricsRequest, AHeadIsBounded) {
  const std::string line = "GET /metrics HTTP/1.1\r\nX-Long: ";
  std::string head = line + std::string(kMaxRequestHead - line.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(head.size(), kMaxRequestHead);
  EXPECT_EQ(classify_request(head), metrics) << "a head of exactly the limit is answered";
  head.insert(line.size(), "a");
  EXPECT_EQ(classify_request(head), too_large);
  EXPECT_EQ(classify_request(std::string(kMaxRequestHead, 'G')), too_large);
  EXPECT_EQ(classify_request(std::string(kMaxRequestHead - 1, 'G')), incomplete);
}

// However the bytes arrive, the verdict is the whole's, and once given it stays.
TEST(MetricsRequest, PiecesGiveTheVerdictOfTheWhole) {
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nand a body";
  for (std::size_t piece = 1; piece <= request.size(); ++piece) {
    RequestReader reader;
    for (std::size_t at = 0; at < request.size(); at += piece)
      reader.add(std::string_view(request).substr(at, piece));
    EXPECT_EQ(reader.verdict(), metrics) << "in pieces of " << piece;
  }
  RequestReader reader;
  EXPECT_EQ(reader.add("POST / HTTP/1.1\r\n\r\n"), method_not_allowed);
  EXPECT_EQ(reader.add("GET /metrics HTTP/1.1\r\n\r\n"), method_not_allowed);
}

}  // namespace
}  // namespace tcpka::tools
