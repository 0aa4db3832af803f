// tcpka enforce: keepalive and a user timeout on every TCP connection of a cgroup, set
// by the kernel (host/keepalive_enforcer.h), for programs LD_PRELOAD cannot reach.
//
// By default the attachment lives as long as the command (its links die with their last
// descriptor, so Ctrl-C or SIGKILL detach it); --pin leaves it in a BPF filesystem.
#include "enforce/enforce_command.h"

#include <fmt/core.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "cli/fail.h"
#include "cli/policy_options.h"
#include "cli/signals.h"
#include "cli/table.h"
#include "host/keepalive_enforcer.h"

namespace tcpka::tools {
namespace {

constexpr std::string_view kName = "enforce";

struct Options {
  std::string cgroup;
  std::string policy;
  std::string user_timeout;
  bool existing = false;
  bool override = false;
  bool pin = false;
  bool list = false;
  bool remove = false;
  bool root_cgroup = false;
  std::string bpffs = "/sys/fs/bpf";
};

int bad_input(const std::string& message) {
  return fail(kName, message, kExitBadInput);
}

// EINVAL and friends are the user's to fix (exit 2); the rest are the machine's (3).
int failed(const Error& error) {
  const bool bad = error.code == std::errc::invalid_argument;
  return fail(kName, error.message, bad ? kExitBadInput : kExitMissingCapability);
}

std::string describe(const host::EnforcementCounters& c) {
  return fmt::format(
      "{} connections covered, {} options left as their programs set them, {} overridden, "
      "{} refused, {} connections where the kernel refused an option",
      c.covered, c.kept_own, c.overridden, c.refused, c.failed);
}

int list(const Options& options) {
  if (auto mounted = host::require_bpffs(options.bpffs); !mounted) return failed(mounted.error());
  auto pinned = host::list_pinned_enforcements(options.bpffs);
  if (!pinned) return failed(pinned.error());
  if (pinned->empty()) {
    fmt::print("no pinned attachments in {}/tcpka\n", options.bpffs);
    return kExitOk;
  }
  TextTable table({"cgroup", "policy", "covered", "kept own", "overridden", "refused", "failed",
                   "pinned by", "pinned in"});
  for (const host::PinnedEnforcement& p : *pinned) {
    table.add_row({p.cgroup, p.policy, std::to_string(p.counters.covered),
                   std::to_string(p.counters.kept_own), std::to_string(p.counters.overridden),
                   std::to_string(p.counters.refused), std::to_string(p.counters.failed),
                   "pid " + std::to_string(p.pid), p.directory});
  }
  fmt::print("{}", table.render());
  return kExitOk;
}

int remove(const Options& options, const host::EnforcedCgroup& cgroup) {
  if (auto mounted = host::require_bpffs(options.bpffs); !mounted) return failed(mounted.error());
  const std::string directory = host::pin_directory(options.bpffs, cgroup);
  if (auto removed = host::remove_pinned_enforcement(directory); !removed) {
    return fail(kName, removed.error().message,
                removed.error().code == std::errc::no_such_file_or_directory
                    ? kExitBadInput
                    : kExitMissingCapability);
  }
  fmt::print(stderr, "tcpka {}: removed the attachment to {}\n", kName, cgroup.path);
  return kExitOk;
}

// Blocks until SIGINT or SIGTERM.
void wait_for_a_signal(int signals) {
  pollfd ready{signals, POLLIN, 0};
  while (::poll(&ready, 1, -1) < 0 && errno == EINTR) {
  }
}

int run(const Options& options) {
  if (options.list) return list(options);
  if (options.cgroup.empty()) return bad_input("--cgroup: give the cgroup to enforce a policy on");
  auto cgroup = host::find_cgroup(options.cgroup);
  if (!cgroup) return bad_input("--cgroup: " + cgroup.error().message);
  if (options.remove) return remove(options, *cgroup);
  if (cgroup->path == "/" && !options.root_cgroup) {
    return bad_input(
        "--cgroup /: the root cgroup is every process of the host; give --root-cgroup "
        "if that is what you mean");
  }
  if (options.policy.empty()) return bad_input("--policy: give the policy to enforce");
  auto asked = policy_from_options(options.policy, options.user_timeout);
  if (!asked) return failed(asked.error());
  auto policy = host::enforced_policy_from(*asked->policy, *asked->resolved, options.override,
                                           options.policy);
  if (!policy) return failed(policy.error());
  // The policy as given, with what ut=auto comes to.
  std::string shown = to_string(*asked->policy);
  if (asked->policy->user_timeout.mode == UserTimeout::Mode::automatic) {
    shown += " (ut=" + format_duration(asked->resolved->user_timeout) + ")";
  }

  std::string directory;
  if (options.pin) {
    if (auto mounted = host::require_bpffs(options.bpffs); !mounted) {
      return failed(mounted.error());
    }
    directory = host::pin_directory(options.bpffs, *cgroup);
    if (::access(directory.c_str(), F_OK) == 0) {
      // Already attached: a new policy is a new value in its map, nothing more.
      if (auto updated = host::update_pinned_policy(directory, *policy); !updated) {
        return failed(updated.error());
      }
      fmt::print(stderr, "tcpka {}: the pinned attachment to {} now enforces {}\n", kName,
                 cgroup->path, shown);
      return kExitOk;
    }
  }

  // Blocked before the attach, so that a signal cannot end the command between the
  // attach and the wait without the counters being printed (the links die either way).
  auto signals = take_signals({SIGINT, SIGTERM});
  if (!signals) return failed(signals.error());
  auto enforcer = host::KeepaliveEnforcer::attach(*cgroup, *policy);
  if (!enforcer) return failed(enforcer.error());
  if (options.existing) {
    auto existing = enforcer->apply_to_existing();
    if (!existing) return failed(existing.error());
    fmt::print(
        stderr, "tcpka {}: {} established connections of {} given the policy now{}\n", kName,
        existing->changed, cgroup->path,
        existing->failed != 0 ? fmt::format(" ({} with an option refused)", existing->failed) : "");
  }
  if (options.pin) {
    if (auto pinned = enforcer->pin(directory); !pinned) return failed(pinned.error());
    fmt::print(stderr,
               "tcpka {}: enforcing {} on {}{}, pinned in {} (tcpka enforce --remove --cgroup {} "
               "ends it)\n",
               kName, shown, cgroup->path, options.override ? " (override)" : "", directory,
               cgroup->path);
    return kExitOk;
  }
  fmt::print(stderr, "tcpka {}: enforcing {} on {}{}; Ctrl-C ends it\n", kName, shown, cgroup->path,
             options.override ? " (override)" : "");
  (void)std::fflush(stderr);
  wait_for_a_signal(signals->get());
  fmt::print(stderr, "tcpka {}: detached from {}: {}\n", kName, cgroup->path,
             describe(enforcer->counters()));
  return kExitOk;
}

}  // namespace

Subcommand add_enforce_command(CLI::App& tcpka) {
  auto options = std::make_shared<Options>();
  CLI::App* app = tcpka.add_subcommand(
      std::string(kName),
      "Keepalive and a user timeout on every TCP connection of a cgroup v2 and below it, set "
      "by the kernel as each is established (eBPF sockops): static binaries and running "
      "services included");
  app->add_option("--cgroup", options->cgroup,
                  "The cgroup (/system.slice/x.service, or its path under the cgroup2 mount)")
      ->type_name("PATH");
  add_policy_options(*app, options->policy, options->user_timeout,
                     "every connection of the cgroup");
  app->add_flag("--existing", options->existing,
                "Also give the policy to the cgroup's connections established already "
                "(a BPF iterator), and say how many");
  app->add_flag("--override", options->override,
                "The programs' own settings of these options do not win: their setsockopt "
                "calls get the policy's values, and SO_KEEPALIVE=0 is refused");
  app->add_flag("--pin", options->pin,
                "Leave the attachment in the BPF filesystem when the command ends; run again "
                "with another --policy to change it");
  app->add_flag("--list", options->list, "List the pinned attachments and their counters");
  app->add_flag("--remove", options->remove, "Remove the pinned attachment of --cgroup");
  app->add_flag("--root-cgroup", options->root_cgroup,
                "Allow --cgroup / (every process of the host)");
  app->add_option("--bpffs", options->bpffs, "Where the BPF filesystem is mounted")
      ->type_name("DIR")
      ->capture_default_str();
  return Subcommand{app, [options] { return run(*options); }};
}

}  // namespace tcpka::tools
