// `tcpka lab --report` as a person sees it: the page rendered by a real browser (Debian's
// Chromium, headless), with no console errors, a timeline drawn for every scenario, and
// a screenshot kept for a person to look at (build/test-artifacts/lab-report.png).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "support/privileges.h"
#include "support/spawned_process.h"
#include "support/temporary_directory.h"

namespace tcpka::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kLabLimit = 120s;
constexpr auto kBrowserLimit = 60s;
const std::string kChromium = "/usr/bin/chromium";

struct Rendered {
  std::optional<int> exit_code;
  std::string dom;     // the document after the browser built it
  std::string errors;  // what the browser logged
};

// Runs headless Chromium on `page` with `action` (--dump-dom, or --screenshot=PNG), its
// profile in `directory` (nothing left in $HOME).
Rendered render(const TemporaryDirectory& directory, const fs::path& page,
                const std::string& action) {
  auto browser = SpawnedProcess::start(
      {kChromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
       "--user-data-dir=" + (directory.path() / "profile").string(), "--enable-logging=stderr",
       "--v=0", "--window-size=1000,2600", action, "file://" + page.string()});
  Rendered rendered;
  rendered.exit_code = browser.wait_exit(kBrowserLimit);
  for (const std::string& line : browser.lines())
    rendered.dom += line + "\n";
  rendered.errors = browser.error_output();
  return rendered;
}

int count(const std::string& text, const std::string& needle) {
  int found = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++found;
  return found;
}

// Chromium logs each console message of the page as a CONSOLE line.
bool has_console_messages(const std::string& log) {
  return log.find(":CONSOLE") != std::string::npos;
}

class LabReportPage : public ::testing::Test {
 protected:
  void SetUp() override {
    TCPKA_REQUIRE_NETWORK_NAMESPACES();
    if (!fs::exists(kChromium)) GTEST_FAIL() << kChromium << " is missing: ./dev setup installs it";
  }
};

// The check itself can fail: a page that logs an error is caught.
TEST_F(LabReportPage, TheBrowserReportsAPagesConsoleErrors) {
  const TemporaryDirectory directory("tcpka-lab-page");
  const fs::path page = directory.path() / "bad.html";
  std::ofstream(page) << "<!DOCTYPE html><html><body><script>console.error('broken')</script>"
                         "</body></html>\n";
  const Rendered rendered = render(directory, page, "--dump-dom");
  EXPECT_EQ(rendered.exit_code, 0) << rendered.errors;
  EXPECT_TRUE(has_console_messages(rendered.errors)) << rendered.errors;
}

TEST_F(LabReportPage, RendersInABrowserWithATimelinePerScenario) {
  const TemporaryDirectory directory("tcpka-lab-page");
  const fs::path page = directory.path() / "lab.html";
  // One scenario of each kind of row: a detection, a survival, a population of each sort.
  auto lab = SpawnedProcess::start({TCPKA_BINARY, "lab", "--only", "host-crash-idle", "--only",
                                    "partition-heals", "--only", "mass-crash", "--only",
                                    "lossy-path", "--scale", "200", "--lossy-connections", "100",
                                    "--report", page.string()});
  ASSERT_EQ(lab.wait_exit(kLabLimit), 0) << lab.error_output();
  std::ifstream written(page);
  const std::string html((std::istreambuf_iterator<char>(written)),
                         std::istreambuf_iterator<char>());
  const int scenarios = count(html, "<section id=");
  ASSERT_EQ(scenarios, 8) << "host-crash-idle x3, partition-heals x2, lossy-path x2, mass-crash";

  const Rendered rendered = render(directory, page, "--dump-dom");
  ASSERT_EQ(rendered.exit_code, 0) << rendered.errors;
  EXPECT_FALSE(has_console_messages(rendered.errors)) << rendered.errors;
  // Every section's timeline, as the browser built it: an svg with its axis and marks.
  const std::regex section(
      R"(<section id="s\d+">[\s\S]*?<svg[^>]*>([\s\S]*?)</svg>[\s\S]*?</section>)");
  int drawn = 0;
  for (auto it = std::sregex_iterator(rendered.dom.begin(), rendered.dom.end(), section);
       it != std::sregex_iterator(); ++it) {
    const std::string svg = (*it)[1];
    EXPECT_NE(svg.find("<line"), std::string::npos) << "no axis in\n" << svg.substr(0, 300);
    EXPECT_NE(svg.find("<rect"), std::string::npos) << "nothing marked in\n" << svg.substr(0, 300);
    ++drawn;
  }
  EXPECT_EQ(drawn, scenarios) << rendered.dom.substr(0, 2000);
  // The populations' ends are drawn as bars.
  EXPECT_NE(rendered.dom.find("class=\"ended\""), std::string::npos);

  const fs::path artifacts = TCPKA_TEST_ARTIFACTS;
  fs::create_directories(artifacts);
  const fs::path screenshot = artifacts / "lab-report.png";
  fs::remove(screenshot);
  const Rendered shot = render(directory, page, "--screenshot=" + screenshot.string());
  EXPECT_EQ(shot.exit_code, 0) << shot.errors;
  EXPECT_FALSE(has_console_messages(shot.errors)) << shot.errors;
  ASSERT_TRUE(fs::exists(screenshot)) << shot.errors;
  EXPECT_GT(fs::file_size(screenshot), 20'000u) << "a blank page is smaller";
}

}  // namespace
}  // namespace tcpka::testing
