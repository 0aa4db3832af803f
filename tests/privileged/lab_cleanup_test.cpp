// Killing the lab with SIGKILL mid-run leaves no namespace, link or process behind.
//
// It runs alone (RUN_SERIAL): namespaces are told apart by inode number, and the kernel
// reuses a freed one at once, so another test's new namespace could look like a leftover.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "support/private_netns.h"
#include "support/privileges.h"
#include "support/process_tree.h"
#include "support/spawned_process.h"

namespace tcpka::testing {
namespace {

using namespace std::chrono_literals;

class Lab : public ::testing::Test {
 protected:
  void SetUp() override { TCPKA_REQUIRE_NETWORK_NAMESPACES(); }
};

TEST_F(Lab, KilledMidRunItLeavesNoNamespaceLinkOrProcess) {
  const std::set<std::string> links_before = host_links();
  auto lab = SpawnedProcess::start(
      {TCPKA_BINARY, "lab", "--only", "peer-hung", "--only", "host-crash-idle"});
  // Wait until the scenarios are under way: namespaces made, peers started.
  std::set<ino_t> held;
  std::vector<pid_t> peers;
  const auto started = std::chrono::steady_clock::now();
  while ((held.size() < 12 || peers.empty()) && std::chrono::steady_clock::now() - started < 60s) {
    lab.read_output(20ms);
    held = namespaces_held_by(lab.pid());
    peers = children_of(lab.pid());
  }
  // Four scenarios of three hosts each, plus the lab's own namespace.
  ASSERT_GE(held.size(), 12u) << "the lab never got going: " << lab.error_output();
  ASSERT_FALSE(peers.empty()) << "peer-hung has a peer process";
  for (pid_t peer : peers) {
    const std::set<ino_t> theirs = namespaces_held_by(peer);
    held.insert(theirs.begin(), theirs.end());
  }

  lab.signal(SIGKILL);
  EXPECT_FALSE(lab.wait_exit(30s).has_value()) << "it died of the signal";

  // The peers die with it (PR_SET_PDEATHSIG), and nothing holds its namespaces: looked at
  // until then, for 30 s at most (the kernel tears them down asynchronously).
  std::set<ino_t> still_held;
  const auto killed = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - killed < 30s) {
    still_held.clear();
    for (pid_t pid : all_pids()) {
      for (ino_t ino : namespaces_held_by(pid)) {
        if (held.contains(ino)) still_held.insert(ino);
      }
    }
    const bool peers_gone =
        std::none_of(peers.begin(), peers.end(), [](pid_t pid) { return alive(pid); });
    if (still_held.empty() && peers_gone) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(still_held.empty()) << still_held.size() << " of the lab's namespaces live on";
  for (pid_t peer : peers)
    EXPECT_FALSE(alive(peer)) << "peer process " << peer << " outlived the lab";
  EXPECT_EQ(host_links(), links_before) << "the lab left a link in the host's namespace";
}

}  // namespace
}  // namespace tcpka::testing
