// `tcpka exec` and its shim on real programs: a C++ program that never asks for
// keepalive, Python, threads, fork and exec, a program with its own opinion, UDP, bad
// policies; checked from inside (getsockopt, printed by the program) and from outside
// (sock_diag, through --check).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/spawned_process.h"

namespace tcpka::testing {
namespace {

using namespace std::chrono_literals;

// idle=7s,intvl=3s,cnt=4: values no default has; ut=auto makes 7 + 3 * 4 = 19 s.
constexpr const char* kPolicy = "idle=7s,intvl=3s,cnt=4,ut=auto";
constexpr const char* kCovered = "keepalive=1 idle=7 intvl=3 cnt=4 ut=19000";
// The interpreter these tests mean: Debian's, not whatever a version manager puts first
// in PATH (pyenv's shim is a shell script that forks dozens of processes first).
constexpr const char* kPython = "/usr/bin/python3";

ProcessResult run_exec(std::vector<std::string> arguments,
                       std::vector<std::string> command = {SOCKET_PROBE}) {
  std::vector<std::string> argv = {TCPKA_BINARY, "exec"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return run_process(argv, 30s);
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> found;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0) found.push_back(line);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return found;
}

TEST(Exec, EverySocketOfAConnectionGetsThePolicy) {
  for (const char* mode : {"connection", "ipv6"}) {
    const ProcessResult result = run_exec({"--policy", kPolicy}, {SOCKET_PROBE, mode});
    ASSERT_EQ(result.exit_code, 0) << mode << ": " << result.err;
    for (const char* what : {"listener", "client", "accepted"}) {
      EXPECT_EQ(lines_starting(result.out, what),
                std::vector<std::string>{std::string(what) + " " + kCovered})
          << mode << "\n"
          << result.out;
    }
  }
}

TEST(Exec, WithoutTheShimNothingIsSet) {
  const ProcessResult result = run_process({SOCKET_PROBE, "connection"}, 30s);
  EXPECT_NE(result.out.find("client keepalive=0"), std::string::npos) << result.out;
}

TEST(Exec, PythonSocketsWithCloexecAreCovered) {
  const ProcessResult result = run_exec({"--policy", kPolicy}, {kPython, SOCKET_PROBE_PY});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(lines_starting(result.out, "client keepalive=1 idle=7 ut=19000").size(), 2u)
      << "IPv4 and IPv6\n"
      << result.out;
  EXPECT_EQ(lines_starting(result.out, "accepted keepalive=1 idle=7 ut=19000").size(), 2u)
      << result.out;
  EXPECT_NE(result.out.find("udp keepalive=0"), std::string::npos) << result.out;
}

TEST(Exec, SocketsFromEightThreads) {
  const ProcessResult result = run_exec({"--policy", kPolicy}, {SOCKET_PROBE, "threads"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(lines_starting(result.out, std::string("thread ") + kCovered).size(), 8u) << result.out;
}

TEST(Exec, ForkThenExecKeepsThePolicy) {
  const ProcessResult result = run_exec({"--policy", kPolicy}, {SOCKET_PROBE, "fork-exec"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(lines_starting(result.out, std::string("exec'd child ") + kCovered).size(), 1u)
      << result.out;
}

TEST(Exec, TheProgramsOwnSettingWinsUnlessOverridden) {
  const ProcessResult respected =
      run_exec({"--policy", kPolicy}, {SOCKET_PROBE, "own-keepalive-off"});
  EXPECT_NE(respected.out.find("own keepalive=0"), std::string::npos) << respected.out;
  const ProcessResult overridden =
      run_exec({"--policy", kPolicy, "--override"}, {SOCKET_PROBE, "own-keepalive-off"});
  EXPECT_NE(overridden.out.find(std::string("own ") + kCovered), std::string::npos)
      << overridden.out;
}

// A socket made by a constructor, before main(): the shim's own constructor ran first
// (a preloaded library is initialised before the program), and nothing deadlocks.
TEST(Exec, ASocketFromAConstructorIsCovered) {
  const ProcessResult result = run_exec(
      {"--policy", kPolicy}, {"/usr/bin/env", "SOCKET_PROBE_EARLY=1", SOCKET_PROBE, "constructor"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, std::string("constructor ") + kCovered + "\n");
}

TEST(Exec, ErrnoIsWhatTheRealCallLeft) {
  const ProcessResult without = run_process({SOCKET_PROBE, "errno"}, 30s);
  const ProcessResult with = run_exec({"--policy", kPolicy}, {SOCKET_PROBE, "errno"});
  EXPECT_NE(without.out.find("refused: -1 Connection refused"), std::string::npos);
  EXPECT_EQ(with.out, without.out);
}

TEST(Exec, TheHooksDoNotAllocate) {
  // The probe counts every malloc and calloc of the process; logging included.
  for (const bool verbose : {false, true}) {
    std::vector<std::string> arguments = {"--policy", kPolicy};
    if (verbose) arguments.push_back("-v");
    const ProcessResult result = run_exec(arguments, {SOCKET_PROBE, "allocations"});
    EXPECT_EQ(result.out, "allocations during 100 sockets: 0\n") << "verbose " << verbose;
  }
}

TEST(Exec, UdpIsLeftAlone) {
  const ProcessResult result = run_exec({"--policy", kPolicy}, {SOCKET_PROBE, "udp"});
  EXPECT_EQ(result.out, "udp keepalive=0\n");
}

TEST(Exec, ScopesAndPortsNarrowWhatIsCovered) {
  const ProcessResult listen = run_exec({"--policy", kPolicy, "--listen-only"});
  EXPECT_NE(listen.out.find(std::string("accepted ") + kCovered), std::string::npos);
  EXPECT_NE(listen.out.find("client keepalive=0"), std::string::npos) << listen.out;
  const ProcessResult connect = run_exec({"--policy", kPolicy, "--connect-only"});
  EXPECT_NE(connect.out.find(std::string("client ") + kCovered), std::string::npos);
  EXPECT_NE(connect.out.find("accepted keepalive=0"), std::string::npos) << connect.out;
  const ProcessResult other_port = run_exec({"--policy", kPolicy, "--ports", "1-1000"});
  EXPECT_NE(other_port.out.find("client keepalive=0"), std::string::npos) << other_port.out;
}

TEST(Exec, VerboseSaysWhatItTouched) {
  const ProcessResult result = run_exec({"--policy", kPolicy, "-v"}, {SOCKET_PROBE, "udp"});
  EXPECT_EQ(result.err.find("policy set"), std::string::npos) << "UDP is not touched";
  const ProcessResult tcp = run_exec({"--policy", kPolicy, "-v"}, {SOCKET_PROBE, "threads"});
  EXPECT_EQ(std::count(tcp.err.begin(), tcp.err.end(), '\n'), 8) << tcp.err;
  EXPECT_NE(tcp.err.find("socket(): policy set"), std::string::npos) << tcp.err;

  char path[] = "/tmp/tcpka-exec-log-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const ProcessResult to_file =
      run_exec({"--policy", kPolicy, "--verbose-log", path}, {SOCKET_PROBE, "threads"});
  std::ifstream file(path);
  const std::string logged((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  EXPECT_TRUE(to_file.err.empty()) << to_file.err;
  EXPECT_EQ(std::count(logged.begin(), logged.end(), '\n'), 8) << logged;
}

// The shim never breaks its host: a malformed policy in the environment gets one
// warning line, and the program runs unchanged.
TEST(Exec, AMalformedPolicyInTheEnvironmentLeavesTheProgramAlone) {
  const ProcessResult result =
      run_process({"/usr/bin/env", "TCPKA_POLICY=idle=forever", "LD_PRELOAD=" PRELOAD_LIBRARY,
                   SOCKET_PROBE, "connection"},
                  30s);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("client keepalive=0"), std::string::npos) << result.out;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_EQ(result.err.rfind("tcpka-preload: TCPKA_POLICY:", 0), 0u) << result.err;
}

// libkeepalive's variables work as they do with libkeepalive; TCPKA_POLICY's fields win.
TEST(Exec, ReadsLibkeepalivesVariables) {
  const ProcessResult alone =
      run_process({"/usr/bin/env", "KEEPIDLE=11", "KEEPINTVL=4", "KEEPCNT=2",
                   "LD_PRELOAD=" PRELOAD_LIBRARY, SOCKET_PROBE, "plain"},
                  30s);
  EXPECT_EQ(alone.out, "exec'd child keepalive=1 idle=11 intvl=4 cnt=2 ut=0\n") << alone.err;
  const ProcessResult mixed =
      run_process({"/usr/bin/env", "KEEPIDLE=11", "KEEPCNT=2", "TCPKA_POLICY=idle=7s",
                   "LD_PRELOAD=" PRELOAD_LIBRARY, SOCKET_PROBE, "plain"},
                  30s);
  EXPECT_NE(mixed.out.find("keepalive=1 idle=7"), std::string::npos) << mixed.out;
  EXPECT_NE(mixed.out.find("cnt=2"), std::string::npos) << mixed.out;
  const ProcessResult off = run_process(
      {"/usr/bin/env", "KEEPALIVE=off", "LD_PRELOAD=" PRELOAD_LIBRARY, SOCKET_PROBE, "plain"}, 30s);
  EXPECT_NE(off.out.find("keepalive=0"), std::string::npos) << off.out;
}

TEST(Exec, KeepsOtherPreloadedLibraries) {
  // Any library will do; libm is everywhere. (The ASan build's tcpka refuses a library
  // preloaded ahead of its runtime unless told not to check.)
  const ProcessResult result =
      run_process({"/usr/bin/env", "LD_PRELOAD=libm.so.6", "ASAN_OPTIONS=verify_asan_link_order=0",
                   TCPKA_BINARY, "exec", "--policy", kPolicy, "--", "/usr/bin/env"},
                  30s);
  EXPECT_NE(result.out.find("LD_PRELOAD=" PRELOAD_LIBRARY ":libm.so.6"), std::string::npos)
      << result.out;
}

// A Python program that makes a listener, a connection and its accepted end, all in a
// child that hands the three to the program in one message: the program goes from no TCP
// socket to three at once, so a check that looks at its first sees them all. It starts
// when a line comes on its standard input, and holds its sockets until that closes.
constexpr const char* kThreeSocketsOnCue =
    "import os,socket,sys\n"
    "sys.stdin.readline()\n"
    "mine,theirs=socket.socketpair()\n"
    "if os.fork()==0:\n"
    "  l=socket.socket(); l.bind(('127.0.0.1',0)); l.listen()\n"
    "  c=socket.create_connection(l.getsockname()); a,_=l.accept()\n"
    "  socket.send_fds(theirs,[b'x'],[l.fileno(),c.fileno(),a.fileno()]); os._exit(0)\n"
    "_,fds,_,_=socket.recv_fds(mine,1,3); os.wait()\n"
    "sys.stdin.read()\n";

SpawnedProcess start_exec_check(const std::string& delay) {
  return SpawnedProcess::start({TCPKA_BINARY, "exec", "--policy", kPolicy, "--check", delay, "--",
                                kPython, "-c", kThreeSocketsOnCue},
                               SpawnedProcess::Options{.fd_limit = std::nullopt, .input = true});
}

void expect_three_covered_sockets(const std::string& report) {
  EXPECT_NE(report.find("3 TCP socket(s)"), std::string::npos) << report;
  EXPECT_NE(report.find("armed, next probe in"), std::string::npos) << report;
  EXPECT_NE(report.find("0 without keepalive"), std::string::npos) << report;
}

TEST(Exec, CheckShowsWhatTheKernelHas) {
  SpawnedProcess exec = start_exec_check("100ms");
  exec.write_input("go\n");
  ASSERT_TRUE(exec.wait_for_error("without keepalive", 30s)) << exec.error_output();
  exec.close_input();
  EXPECT_EQ(exec.wait_exit(30s), 0) << exec.error_output();
  expect_three_covered_sockets(exec.error_output());
}

// A program slower to open its first socket than --check's delay (a JVM, a Python behind
// a version manager's shim) is checked once it has one, not reported empty for being slow.
TEST(Exec, CheckWaitsForTheFirstSocketOfASlowStarter) {
  SpawnedProcess exec = start_exec_check("1ms");
  // The program holds no socket until told: the delay passes first, whatever the load.
  ASSERT_TRUE(exec.wait_for_error("waiting for its first", 30s)) << exec.error_output();
  EXPECT_EQ(exec.error_output().find("TCP socket(s) of pid"), std::string::npos)
      << exec.error_output();
  exec.write_input("go\n");
  ASSERT_TRUE(exec.wait_for_error("without keepalive", 30s)) << exec.error_output();
  exec.close_input();
  EXPECT_EQ(exec.wait_exit(30s), 0) << exec.error_output();
  EXPECT_NE(exec.error_output().find("at its first TCP socket (later than --check 1ms)"),
            std::string::npos)
      << exec.error_output();
  expect_three_covered_sockets(exec.error_output());
}

// A program that ends without a socket is not waited for until the delay, and says so.
TEST(Exec, CheckOfAProgramThatExitsWithoutASocket) {
  const ProcessResult result = run_exec({"--check", "1h"}, {"/bin/sh", "-c", "exit 7"});
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 7) << result.err;
  EXPECT_NE(result.err.find("exited with status 7"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("before its TCP sockets were listed"), std::string::npos) << result.err;
}

TEST(Exec, BadInputGetsOneLineAndExitTwo) {
  for (const auto& arguments : std::vector<std::vector<std::string>>{
           {"--policy", "idle=0.5s"},
           {"--user-timeout", "30000"},
           {"--listen-only", "--connect-only"},
           {"--check", "soon"},
       }) {
    const ProcessResult result = run_exec(arguments, {"/bin/true"});
    EXPECT_EQ(result.exit_code, 2) << arguments[0] << ": " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
  const ProcessResult missing = run_exec({}, {"/nonexistent/program"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot run /nonexistent/program"), std::string::npos);
}

}  // namespace
}  // namespace tcpka::testing
