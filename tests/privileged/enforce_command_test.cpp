// `tcpka enforce` on a program LD_PRELOAD cannot reach: a static Go echo server
// (CGO_ENABLED=0, keepalive disabled in its code unless -keepalive says otherwise) in a
// cgroup of the test's own. Settings are read back the way a user would, with
// `tcpka inspect`; the detection time through the lab's black box. Every attachment ends
// with the test: foreground ones with their process, pinned ones in a BPF filesystem
// mounted in a mount namespace that dies with its holder.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "host/cgroups.h"
#include "net/endpoint.h"
#include "net/unique_fd.h"
#include "support/bad_input.h"
#include "support/child_process.h"
#include "support/loopback.h"
#include "support/privileges.h"
#include "support/spawned_process.h"
#include "support/test_cgroup.h"

namespace tcpka::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The Go server, started inside `cgroup` before its first socket: sh joins the cgroup,
// then execs it (same pid).
SpawnedProcess go_server_in(const TestCgroup& cgroup, const std::string& keepalive = "-1s") {
  return SpawnedProcess::start({"/bin/sh", "-c",
                                "echo $$ > " + cgroup.directory() +
                                    "/cgroup.procs && exec " TCPKA_GO_ECHO_SERVER
                                    " -listen 127.0.0.1:0 -keepalive " +
                                    keepalive});
}

std::string cgroup_mount() {
  auto mount = host::cgroup2_mount();
  if (!mount) throw std::runtime_error(mount.error().message);
  return *mount;
}

int listening_port(SpawnedProcess& server) {
  const auto ready = server.wait_for_line("listening on ", 30s);
  if (!ready) throw std::runtime_error("the Go server did not listen: " + server.error_output());
  return std::stoi(ready->substr(ready->rfind(':') + 1));
}

// A connection to the server on `port`, echoed once (so the server has accepted it).
net::UniqueFd echoed_connection(int port) {
  net::UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const net::SocketAddress address = loopback_address(AF_INET, port);
  if (::connect(client.get(), address.get(), address.length) != 0) {
    throw std::runtime_error("connect to the Go server failed");
  }
  send_bytes(client.get(), 5);
  receive_bytes(client.get(), 5);
  return client;
}

// `pid`'s established sockets as tcpka inspect reports them.
std::vector<json> established_rows(pid_t pid) {
  const ProcessResult result = run_process({TCPKA_BINARY, "inspect", "--json", "--via", "bpf",
                                            "--pid", std::to_string(pid), "--state", "established"},
                                           30s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::vector<json> rows;
  const json report = json::parse(result.out, nullptr, false);
  if (report.is_discarded()) {
    ADD_FAILURE() << result.out;
    return rows;
  }
  for (const json& row : report["sockets"])
    rows.push_back(row);
  return rows;
}

// The settings of `pid`'s established sockets, as tcpka inspect reads them.
std::vector<json> established_settings(pid_t pid) {
  std::vector<json> settings;
  for (const json& row : established_rows(pid))
    settings.push_back(row["settings"]);
  return settings;
}

// The settings of the one established socket `pid` has.
json settings_of_one(pid_t pid) {
  const std::vector<json> all = established_settings(pid);
  if (all.size() != 1) {
    ADD_FAILURE() << "expected one established socket, found " << all.size();
    return json::object();
  }
  return all.front();
}

void expect_keepalive(const json& s, std::int64_t idle_ms, std::int64_t interval_ms, int count) {
  EXPECT_EQ(s["keepalive"], true) << s.dump();
  EXPECT_EQ(s["idle_ms"], idle_ms) << s.dump();
  EXPECT_EQ(s["interval_ms"], interval_ms) << s.dump();
  EXPECT_EQ(s["count"], count) << s.dump();
}

// `tcpka enforce ARGS` in the foreground, once it says it enforces.
SpawnedProcess enforcing(std::vector<std::string> arguments) {
  std::vector<std::string> argv = {TCPKA_BINARY, "enforce"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  SpawnedProcess enforce = SpawnedProcess::start(argv);
  if (!enforce.wait_for_error("enforcing", 30s)) {
    throw std::runtime_error("tcpka enforce did not start: " + enforce.error_output());
  }
  return enforce;
}

class Enforce : public ::testing::Test {
 protected:
  void SetUp() override { TCPKA_REQUIRE_NETWORK_NAMESPACES(); }
};

TEST_F(Enforce, ArmsKeepaliveOnAStaticGoServerUntilItEnds) {
  const TestCgroup cgroup("enforce-test");
  SpawnedProcess server = go_server_in(cgroup);
  const int port = listening_port(server);
  const net::UniqueFd before = echoed_connection(port);
  EXPECT_EQ(settings_of_one(server.pid())["keepalive"], false) << "keepalive off in its code";

  SpawnedProcess enforce = enforcing({"--cgroup", cgroup.name(), "--policy", "2:1:3"});
  {
    const net::UniqueFd during = echoed_connection(port);
    const std::vector<json> settings = established_settings(server.pid());
    ASSERT_EQ(settings.size(), 2u);
    int armed = 0;
    for (const json& s : settings) {
      if (s["keepalive"] == true) {
        expect_keepalive(s, 2'000, 1'000, 3);
        ++armed;
      }
    }
    EXPECT_EQ(armed, 1) << "the new connection only: the older one was not asked (--existing)";
    for (const json& row : established_rows(server.pid())) {
      EXPECT_EQ(row["under_enforce"], true) << "inspect names the attachment: " << row.dump();
    }
  }
  enforce.signal(SIGTERM);
  EXPECT_EQ(enforce.wait_exit(30s), 0) << enforce.error_output();
  EXPECT_NE(enforce.error_output().find("1 connections covered"), std::string::npos)
      << enforce.error_output();

  const net::UniqueFd after = echoed_connection(port);
  for (const json& row : established_rows(server.pid())) {
    EXPECT_EQ(row["settings"]["keepalive"], false) << "detached: " << row.dump();
    EXPECT_EQ(row["under_enforce"], false) << row.dump();
  }
}

TEST_F(Enforce, SigkillLeavesNothingAttached) {
  const TestCgroup cgroup("enforce-test");
  SpawnedProcess enforce = enforcing({"--cgroup", cgroup.name(), "--policy", "2:1:3"});
  const ProcessResult attached =
      run_process({"/usr/sbin/bpftool", "cgroup", "show", cgroup.directory()}, 30s);
  EXPECT_NE(attached.out.find("sock_ops"), std::string::npos) << attached.out << attached.err;
  enforce.signal(SIGKILL);
  EXPECT_FALSE(enforce.wait_exit(30s).has_value());
  // The links died with their last descriptor, the killed process's.
  const ProcessResult left =
      run_process({"/usr/sbin/bpftool", "cgroup", "show", cgroup.directory()}, 30s);
  EXPECT_EQ(left.out.find("sock_ops"), std::string::npos) << left.out;
  EXPECT_EQ(left.out.find("setsockopt"), std::string::npos) << left.out;
}

TEST_F(Enforce, ExistingConnectionsGetThePolicyAndAreCounted) {
  const TestCgroup cgroup("enforce-test");
  SpawnedProcess server = go_server_in(cgroup);
  const net::UniqueFd before = echoed_connection(listening_port(server));

  SpawnedProcess enforce =
      enforcing({"--cgroup", cgroup.name(), "--policy", "4:2:5", "--existing"});
  EXPECT_NE(enforce.error_output().find("1 established connections of " + cgroup.name()),
            std::string::npos)
      << "the server's end only; the client is not in the cgroup: " << enforce.error_output();
  expect_keepalive(settings_of_one(server.pid()), 4'000, 2'000, 5);
}

TEST_F(Enforce, AProgramsOwnKeepaliveWinsUnlessOverridden) {
  const TestCgroup cgroup("enforce-test");
  // -keepalive 0: Go's default, set by Go after accept: SO_KEEPALIVE, idle and interval
  // 15 s (the count is left alone).
  SpawnedProcess server = go_server_in(cgroup, "0");
  const int port = listening_port(server);
  {
    SpawnedProcess enforce = enforcing({"--cgroup", cgroup.name(), "--policy", "2:1:3"});
    const net::UniqueFd connection = echoed_connection(port);
    expect_keepalive(settings_of_one(server.pid()), 15'000, 15'000, 3);
  }
  // Set before connect(): held when the connection is established, so left alone; what
  // the program left to the default gets the policy.
  {
    SpawnedProcess enforce = enforcing({"--cgroup", cgroup.name(), "--policy", "2:1:3"});
    const ProcessResult own =
        run_process({"/bin/sh", "-c",
                     "echo $$ > " + cgroup.directory() +
                         "/cgroup.procs && exec /usr/bin/python3 -c '\n"
                         "import socket\n"
                         "c = socket.socket()\n"
                         "c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 100)\n"
                         "c.connect((\"127.0.0.1\", " +
                         std::to_string(port) +
                         "))\n"
                         "print(c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),"
                         " c.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),"
                         " c.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),"
                         " c.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT))'"},
                    30s);
    EXPECT_EQ(own.out, "1 100 1 3\n") << own.err;
  }
  SpawnedProcess enforce =
      enforcing({"--cgroup", cgroup.name(), "--policy", "2:1:3", "--override"});
  const net::UniqueFd connection = echoed_connection(port);
  const std::vector<json> settings = established_settings(server.pid());
  ASSERT_EQ(settings.size(), 1u);
  expect_keepalive(settings.front(), 2'000, 1'000, 3);

  // SO_KEEPALIVE=0 is refused under --override: a program in the cgroup tries.
  const ProcessResult turned_off = run_process(
      {"/bin/sh", "-c",
       "echo $$ > " + cgroup.directory() +
           "/cgroup.procs && exec /usr/bin/python3 -c '\n"
           "import socket\n"
           "c = socket.create_connection((\"127.0.0.1\", " +
           std::to_string(port) +
           "))\n"
           "try:\n"
           "    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0); print(\"allowed\")\n"
           "except PermissionError: print(\"refused\")\n"
           "print(c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))'"},
      30s);
  EXPECT_EQ(turned_off.out, "refused\n1\n") << turned_off.err;
  enforce.signal(SIGTERM);
  EXPECT_EQ(enforce.wait_exit(30s), 0);
  EXPECT_NE(enforce.error_output().find("1 refused"), std::string::npos) << enforce.error_output();
}

// A BPF filesystem of the test's own, mounted in a mount namespace that a holder process
// keeps: when it dies, the filesystem goes, its pins with it, and what they held.
class PrivateBpffs {
 public:
  PrivateBpffs()
      : directory_(std::filesystem::temp_directory_path() /
                   ("tcpka-bpffs-" + std::to_string(::getpid()))) {
    std::filesystem::create_directory(directory_);
    holder_.emplace(SpawnedProcess::start(
        {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
         "mount -t bpf bpf " + directory_.string() + " && echo mounted && exec sleep 600"}));
    if (!holder_->wait_for_line("mounted", 30s)) {
      throw std::runtime_error("cannot mount a BPF filesystem: " + holder_->error_output());
    }
  }
  ~PrivateBpffs() {
    holder_.reset();  // SIGKILL and reaped
    std::error_code ignored;
    std::filesystem::remove(directory_, ignored);
  }
  PrivateBpffs(const PrivateBpffs&) = delete;
  PrivateBpffs& operator=(const PrivateBpffs&) = delete;

  // `tcpka enforce --bpffs DIR ARGS...` inside the holder's mount namespace.
  ProcessResult enforce(std::vector<std::string> arguments) const {
    std::vector<std::string> argv = {"/usr/bin/nsenter",
                                     "-t",
                                     std::to_string(holder_->pid()),
                                     "-m",
                                     TCPKA_BINARY,
                                     "enforce",
                                     "--bpffs",
                                     directory_.string()};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return run_process(argv, 30s);
  }

 private:
  std::filesystem::path directory_;
  std::optional<SpawnedProcess> holder_;
};

TEST_F(Enforce, APinnedAttachmentOutlivesTheCommandChangesPolicyAndIsRemoved) {
  const TestCgroup cgroup("enforce-test");
  const PrivateBpffs bpffs;
  SpawnedProcess server = go_server_in(cgroup);
  const int port = listening_port(server);

  const ProcessResult pinned =
      bpffs.enforce({"--cgroup", cgroup.name(), "--policy", "2:1:3", "--pin"});
  ASSERT_EQ(pinned.exit_code, 0) << pinned.err;
  {
    const net::UniqueFd connection = echoed_connection(port);
    expect_keepalive(settings_of_one(server.pid()), 2'000, 1'000, 3);
  }
  const ProcessResult listed = bpffs.enforce({"--list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  // Its row: the cgroup, the policy as given, one connection covered.
  std::istringstream rows(listed.out);
  std::vector<std::string> row;
  for (std::string line; std::getline(rows, line);) {
    std::istringstream fields(line);
    std::vector<std::string> words{std::istream_iterator<std::string>(fields), {}};
    if (!words.empty() && words[0] == cgroup.name()) row = words;
  }
  ASSERT_GE(row.size(), 3u) << listed.out;
  EXPECT_EQ(row[1], "2:1:3") << listed.out;
  EXPECT_EQ(row[2], "1") << "covered: " << listed.out;

  // A new policy for the same cgroup: a new value in the pinned map, no re-attach.
  const ProcessResult changed =
      bpffs.enforce({"--cgroup", cgroup.name(), "--policy", "6:2:4", "--pin"});
  EXPECT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_NE(changed.err.find("now enforces"), std::string::npos) << changed.err;
  {
    const net::UniqueFd connection = echoed_connection(port);
    expect_keepalive(settings_of_one(server.pid()), 6'000, 2'000, 4);
  }

  const ProcessResult removed = bpffs.enforce({"--remove", "--cgroup", cgroup.name()});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  {
    const net::UniqueFd connection = echoed_connection(port);
    EXPECT_EQ(settings_of_one(server.pid())["keepalive"], false) << "detached";
  }
  EXPECT_NE(bpffs.enforce({"--list"}).out.find("no pinned attachments"), std::string::npos);
  const ProcessResult again = bpffs.enforce({"--remove", "--cgroup", cgroup.name()});
  EXPECT_EQ(again.exit_code, 2) << "nothing left to remove: " << again.err;
}

TEST_F(Enforce, BadInputGetsOneLineAndExitCode2) {
  const TestCgroup cgroup("enforce-test");
  expect_bad_input(TCPKA_BINARY, "enforce",
                   {{"--policy", "2:1:3"},
                    {"--cgroup", "/no/such/cgroup", "--policy", "2:1:3"},
                    {"--cgroup", "/", "--policy", "2:1:3"},
                    {"--cgroup", cgroup.name(), "--policy", "off"},
                    {"--cgroup", cgroup.name(), "--policy", "idle=0"},
                    {"--cgroup", cgroup.name()}});
}

TEST(EnforceUnprivileged, ExitsThreeSayingWhatIsMissing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become nobody";
  const TestCgroup cgroup("enforce-test");
  const ProcessResult result =
      run_process({"/usr/bin/setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                   TCPKA_BINARY, "enforce", "--cgroup", cgroup.name(), "--policy", "2:1:3"},
                  30s);
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_NE(result.err.find("CAP_BPF"), std::string::npos) << result.err;
}

// tcpka exec on a static program: LD_PRELOAD cannot reach it, so the kernel enforces the
// policy on its connections, in a cgroup made for the run and removed after it.
TEST_F(Enforce, ExecGivesAStaticProgramThePolicyThroughTheKernel) {
  SpawnedProcess exec = SpawnedProcess::start({TCPKA_BINARY, "exec", "--policy", "2:1:3", "--",
                                               TCPKA_GO_ECHO_SERVER, "-listen", "127.0.0.1:0"});
  const int port = listening_port(exec);
  EXPECT_NE(exec.error_output().find("statically linked"), std::string::npos)
      << exec.error_output();
  const std::size_t at = exec.error_output().find("cgroup /");
  ASSERT_NE(at, std::string::npos) << exec.error_output();
  const std::string cgroup =
      exec.error_output().substr(at + 7, exec.error_output().find(')', at) - at - 7);
  {
    const net::UniqueFd connection = echoed_connection(port);
    // exec's child is the Go server: inspect it through the cgroup.
    const ProcessResult result = run_process(
        {TCPKA_BINARY, "inspect", "--json", "--cgroup", cgroup, "--state", "established"}, 30s);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const json report = json::parse(result.out);
    ASSERT_EQ(report["sockets"].size(), 1u) << result.out;
    expect_keepalive(report["sockets"][0]["settings"], 2'000, 1'000, 3);
  }
  exec.signal(SIGTERM);  // passed on to the program, which exits 0 on it
  EXPECT_EQ(exec.wait_exit(30s), 0) << exec.error_output();
  const auto mount = std::filesystem::path(cgroup_mount());
  EXPECT_FALSE(std::filesystem::exists(mount / cgroup.substr(1))) << "the run's cgroup is gone";
}

TEST(EnforceUnprivileged, ExecSaysNothingIsAppliedWhereTheKernelCannotEnforce) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become nobody";
  SpawnedProcess exec = SpawnedProcess::start(
      {"/usr/bin/setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
       TCPKA_BINARY, "exec", "--", TCPKA_GO_ECHO_SERVER, "-listen", "127.0.0.1:0"});
  listening_port(exec);  // it runs all the same
  EXPECT_NE(exec.error_output().find("nothing will be applied"), std::string::npos)
      << exec.error_output();
  exec.signal(SIGTERM);
  EXPECT_EQ(exec.wait_exit(30s), 0) << exec.error_output();
  const ProcessResult forced =
      run_process({"/usr/bin/setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                   TCPKA_BINARY, "exec", "--bpf", "--", TCPKA_GO_ECHO_SERVER},
                  30s);
  EXPECT_EQ(forced.exit_code, 3) << forced.err;
}

// The lab's black box: the Go server, keepalive off in its code, keeps a crashed client
// for ever; under enforce --policy 2:1:3 its kernel drops it 2 s + 3 probes 1 s apart
// after the client's last segment, within the model's tolerance for timers.
TEST_F(Enforce, TheLabSeesAStaticServersCrashedClientDroppedInTheInterval) {
  const TestCgroup cgroup("enforce-test");
  const std::string target = "/bin/sh -c 'echo $$ > " + cgroup.directory() +
                             "/cgroup.procs && exec " TCPKA_GO_ECHO_SERVER
                             " -listen 0.0.0.0:{port}'";
  const auto crash = [&] {
    const ProcessResult lab = run_process({TCPKA_BINARY, "lab", "--json", "--cap", "8s", "--only",
                                           "host-crash-idle", "--target", target},
                                          120s);
    EXPECT_EQ(lab.exit_code, 0) << lab.err;
    const json report = json::parse(lab.out, nullptr, false);
    if (report.is_discarded() || report["scenarios"].size() != 1) {
      ADD_FAILURE() << lab.out << lab.err;
      return json::object();
    }
    return report["scenarios"][0]["measured"];
  };
  const json without = crash();
  EXPECT_EQ(without["kind"], "still_open") << without;

  SpawnedProcess enforce = enforcing({"--cgroup", cgroup.name(), "--policy", "2:1:3"});
  const json with = crash();
  ASSERT_EQ(with["kind"], "dropped") << with;
  EXPECT_GE(with["after_ms"].get<int>(), 5'000) << with;
  EXPECT_LE(with["after_ms"].get<int>(), 5'675) << with;
  EXPECT_EQ(with["probes"], 3) << with;
}

}  // namespace
}  // namespace tcpka::testing
