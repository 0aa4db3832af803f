#include "host/keepalive_enforcer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

#include "host/bpf_loading.h"
#include "host/cgroups.h"
#include "host/network_namespaces.h"
#include "host/process_table.h"
#include "keepalive_enforcer.skel.h"
#include "keepalive_enforcer_maps.h"
#include "net/unique_fd.h"

namespace tcpka::host {
namespace {

constexpr std::string_view kSubject = "BPF keepalive enforcer";
constexpr long kBpfFsMagic = 0xcafe4a11;  // BPF_FS_MAGIC (linux/magic.h)

// The files of a pinned attachment, in its directory.
constexpr const char* kPinnedSockops = "sockops";
constexpr const char* kPinnedSetsockopt = "setsockopt";
constexpr const char* kPinnedPolicy = "policy";
constexpr const char* kPinnedCounters = "counters";
constexpr const char* kPinnedAbout = "about";

enforced_policy map_value(const EnforcedPolicy& policy) {
  enforced_policy value{};
  value.options = OPTION_KEEPALIVE;
  if (policy.idle_seconds) {
    value.options |= OPTION_IDLE;
    value.idle_seconds = static_cast<std::uint32_t>(*policy.idle_seconds);
  }
  if (policy.interval_seconds) {
    value.options |= OPTION_INTERVAL;
    value.interval_seconds = static_cast<std::uint32_t>(*policy.interval_seconds);
  }
  if (policy.count) {
    value.options |= OPTION_COUNT;
    value.count = static_cast<std::uint32_t>(*policy.count);
  }
  if (policy.user_timeout) {
    value.options |= OPTION_USER_TIMEOUT;
    value.user_timeout_ms = static_cast<std::uint32_t>(policy.user_timeout->count());
  }
  value.override = policy.override ? 1 : 0;
  return value;
}

template <std::size_t N>
void copy_text(char (&destination)[N], const std::string& text) {
  const std::size_t n = std::min(text.size(), N - 1);
  std::memcpy(destination, text.data(), n);
  destination[n] = '\0';
}

enforcement_about about_of(const EnforcedCgroup& cgroup, const EnforcedPolicy& policy) {
  enforcement_about about{};
  about.cgroup_id = cgroup.id;
  about.started_unix_seconds =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  about.pid = static_cast<std::uint32_t>(::getpid());
  copy_text(about.cgroup, cgroup.path);
  copy_text(about.policy, policy.text);
  return about;
}

// The per-CPU counters of the map behind `fd`, summed.
EnforcementCounters read_counters(int fd) {
  const int cpus = libbpf_num_possible_cpus();
  EnforcementCounters counters;
  if (cpus <= 0) return counters;
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(cpus));
  const auto sum = [&](std::uint32_t key) {
    std::fill(per_cpu.begin(), per_cpu.end(), 0);
    if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) != 0) return std::uint64_t{0};
    std::uint64_t total = 0;
    for (const std::uint64_t n : per_cpu)
      total += n;
    return total;
  };
  counters.covered = sum(COUNTER_COVERED);
  counters.kept_own = sum(COUNTER_KEPT_OWN);
  counters.overridden = sum(COUNTER_OVERRIDDEN);
  counters.refused = sum(COUNTER_REFUSED);
  counters.failed = sum(COUNTER_FAILED);
  return counters;
}

Error system_failure(const std::string& what) {
  const int error = errno;
  return errno_error(error, what + ": " + std::generic_category().message(error));
}

}  // namespace

Result<EnforcedPolicy> enforced_policy_from(const Policy& policy, const ResolvedPolicy& resolved,
                                            bool override, std::string text) {
  if (policy.keepalive == false) {
    return invalid_argument("--policy " + text +
                            ": turns keepalive off; tcpka enforce gives keepalive (and a user "
                            "timeout), so there is nothing to enforce");
  }
  if (!policy.keepalive && !policy.idle && !policy.interval && !policy.count) {
    return invalid_argument("--policy " + text +
                            ": asks nothing of keepalive; give on, or idle, intvl and cnt");
  }
  EnforcedPolicy enforced;
  const auto seconds = [](Millis value) {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(value).count());
  };
  if (policy.idle) enforced.idle_seconds = seconds(*policy.idle);
  if (policy.interval) enforced.interval_seconds = seconds(*policy.interval);
  if (policy.count) enforced.count = *policy.count;
  if (policy.user_timeout.mode != UserTimeout::Mode::unset) {
    enforced.user_timeout = resolved.user_timeout;  // ut=auto computed; off is 0
  }
  enforced.override = override;
  enforced.text = std::move(text);
  return enforced;
}

Result<EnforcedCgroup> find_cgroup(const std::string& given) {
  auto path = cgroup_path(given);
  if (!path) return invalid_argument(path.error().message);
  auto mount = cgroup2_mount();
  if (!mount) return mount.error();
  struct stat status {};
  const std::string full = *mount + (*path == "/" ? "" : *path);
  if (::stat(full.c_str(), &status) != 0) return invalid_argument("no cgroup " + given);
  EnforcedCgroup cgroup;
  cgroup.path = *path;
  cgroup.id = status.st_ino;
  cgroup.level = *path == "/" ? 0 : static_cast<int>(std::count(path->begin(), path->end(), '/'));
  return cgroup;
}

struct KeepaliveEnforcer::State {
  struct Destroy {
    void operator()(::keepalive_enforcer* object) const { keepalive_enforcer__destroy(object); }
  };
  std::unique_ptr<::keepalive_enforcer, Destroy> skeleton;
  net::UniqueFd cgroup_fd;
  EnforcedCgroup cgroup;
};

KeepaliveEnforcer::KeepaliveEnforcer(std::unique_ptr<State> state) : state_(std::move(state)) {}
KeepaliveEnforcer::KeepaliveEnforcer(KeepaliveEnforcer&&) noexcept = default;
KeepaliveEnforcer& KeepaliveEnforcer::operator=(KeepaliveEnforcer&&) noexcept = default;
KeepaliveEnforcer::~KeepaliveEnforcer() = default;

Result<KeepaliveEnforcer> KeepaliveEnforcer::attach(const EnforcedCgroup& cgroup,
                                                    const EnforcedPolicy& policy) {
  if (auto btf = detail::require_kernel_btf(kSubject); !btf) return btf.error();
  detail::capture_libbpf_messages();
  auto state = std::make_unique<State>();
  state->cgroup = cgroup;
  // Without the kernel's config (CONFIG_HZ) every option is set, none skipped as set.
  bpf_object_open_opts options{};
  options.sz = sizeof(options);
  options.kconfig = detail::kconfig_fallback();
  state->skeleton.reset(keepalive_enforcer__open_opts(&options));
  if (!state->skeleton) return detail::bpf_error(errno, kSubject, "open");
  state->skeleton->rodata->target_cgroup_id = cgroup.id;
  state->skeleton->rodata->target_cgroup_level = static_cast<std::uint32_t>(cgroup.level);
  if (keepalive_enforcer__load(state->skeleton.get()) != 0) {
    return detail::bpf_error(errno, kSubject, "load");
  }
  const std::uint32_t zero = 0;
  const enforced_policy value = map_value(policy);
  const enforcement_about about = about_of(cgroup, policy);
  if (bpf_map__update_elem(state->skeleton->maps.policy, &zero, sizeof(zero), &value, sizeof(value),
                           BPF_ANY) != 0 ||
      bpf_map__update_elem(state->skeleton->maps.about, &zero, sizeof(zero), &about, sizeof(about),
                           BPF_ANY) != 0) {
    return detail::bpf_error(errno, kSubject, "write the policy");
  }
  auto mount = cgroup2_mount();
  if (!mount) return mount.error();
  const std::string directory = *mount + (cgroup.path == "/" ? "" : cgroup.path);
  state->cgroup_fd = net::UniqueFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!state->cgroup_fd) return system_failure("open " + directory);
  keepalive_enforcer* skeleton = state->skeleton.get();
  skeleton->links.enforce_on_establish =
      bpf_program__attach_cgroup(skeleton->progs.enforce_on_establish, state->cgroup_fd.get());
  if (!skeleton->links.enforce_on_establish) {
    return detail::bpf_error(errno, kSubject, "attach sockops to " + cgroup.path);
  }
  // Only to override: attached, it would cost every setsockopt of the cgroup.
  if (policy.override) {
    skeleton->links.override_own_settings =
        bpf_program__attach_cgroup(skeleton->progs.override_own_settings, state->cgroup_fd.get());
    if (!skeleton->links.override_own_settings) {
      return detail::bpf_error(errno, kSubject, "attach cgroup/setsockopt to " + cgroup.path);
    }
  }
  return KeepaliveEnforcer(std::move(state));
}

Result<ExistingConnections> KeepaliveEnforcer::apply_to_existing() const {
  keepalive_enforcer* skeleton = state_->skeleton.get();
  bpf_link* link = bpf_program__attach_iter(skeleton->progs.enforce_on_existing, nullptr);
  if (!link) return detail::bpf_error(errno, kSubject, "attach iter/tcp");
  const std::unique_ptr<bpf_link, int (*)(bpf_link*)> iterator_link(link, bpf_link__destroy);
  const ProcessTable processes = read_process_table();
  auto namespaces = list_network_namespaces(processes);
  if (!namespaces) return namespaces.error();
  ExistingConnections existing;
  for (const NetworkNamespace& ns : *namespaces) {
    // The iterator walks the namespace of the thread that reads it.
    auto walked = net::inside(ns.handle, [&]() -> Result<void> {
      const net::UniqueFd iterator(bpf_iter_create(bpf_link__fd(link)));
      if (!iterator) return detail::bpf_error(errno, kSubject, "create the iterator");
      existing_record record{};
      std::vector<char> buffer(sizeof(record) * 256);
      std::size_t held = 0;
      while (true) {
        const ssize_t n = ::read(iterator.get(), buffer.data() + held, buffer.size() - held);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return detail::bpf_error(errno, kSubject, "read the iterator");
        if (n == 0) break;
        held += static_cast<std::size_t>(n);
        std::size_t at = 0;
        for (; held - at >= sizeof(record); at += sizeof(record)) {
          std::memcpy(&record, buffer.data() + at, sizeof(record));
          ++existing.changed;
          if (record.failures != 0) ++existing.failed;
        }
        std::memmove(buffer.data(), buffer.data() + at, held - at);
        held -= at;
      }
      return {};
    });
    if (!walked && !ns.own) continue;  // a namespace it may not enter: its own always
    if (!walked) return walked.error();
  }
  return existing;
}

Result<void> KeepaliveEnforcer::pin(const std::string& directory) const {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return errno_error(error.value(), "create " + directory + ": " + error.message());
  keepalive_enforcer* skeleton = state_->skeleton.get();
  const auto at = [&](const char* name) { return directory + "/" + name; };
  bpf_link* override = skeleton->links.override_own_settings;
  if (bpf_link__pin(skeleton->links.enforce_on_establish, at(kPinnedSockops).c_str()) != 0 ||
      (override != nullptr && bpf_link__pin(override, at(kPinnedSetsockopt).c_str()) != 0) ||
      bpf_map__pin(skeleton->maps.policy, at(kPinnedPolicy).c_str()) != 0 ||
      bpf_map__pin(skeleton->maps.counters, at(kPinnedCounters).c_str()) != 0 ||
      bpf_map__pin(skeleton->maps.about, at(kPinnedAbout).c_str()) != 0) {
    const int pin_error = errno;
    (void)remove_pinned_enforcement(directory);
    return detail::bpf_error(pin_error, kSubject, "pin in " + directory);
  }
  return {};
}

EnforcementCounters KeepaliveEnforcer::counters() const {
  return read_counters(bpf_map__fd(state_->skeleton->maps.counters));
}

bool EnforcementQuery::covers(const std::string& cgroup_path) {
  const auto known = known_.find(cgroup_path);
  if (known != known_.end()) return known->second;
  bool covered = false;
  auto mount = cgroup2_mount();
  if (mount && !cgroup_path.empty()) {
    const std::string directory = *mount + (cgroup_path == "/" ? "" : cgroup_path);
    const net::UniqueFd cgroup(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::array<std::uint32_t, 64> ids{};
    std::uint32_t count = ids.size();
    // Effective: what runs for the cgroup's sockets, its ancestors' programs included.
    if (cgroup && bpf_prog_query(cgroup.get(), BPF_CGROUP_SOCK_OPS, BPF_F_QUERY_EFFECTIVE, nullptr,
                                 ids.data(), &count) == 0) {
      for (std::uint32_t i = 0; i < count && !covered; ++i) {
        const net::UniqueFd program(bpf_prog_get_fd_by_id(ids[i]));
        bpf_prog_info info{};
        std::uint32_t size = sizeof(info);
        if (program && bpf_obj_get_info_by_fd(program.get(), &info, &size) == 0) {
          // The kernel keeps 15 characters of a program's name.
          covered = std::string_view(info.name).starts_with("enforce_on_esta");
        }
      }
    }
  }
  known_.emplace(cgroup_path, covered);
  return covered;
}

std::string pin_directory(const std::string& bpffs, const EnforcedCgroup& cgroup) {
  return bpffs + "/tcpka/cgroup-" + std::to_string(cgroup.id);
}

Result<void> require_bpffs(const std::string& bpffs) {
  struct statfs status {};
  if (::statfs(bpffs.c_str(), &status) != 0 || status.f_type != kBpfFsMagic) {
    return errno_error(
        ENOTSUP, "no BPF filesystem is mounted at " + bpffs + " (mount -t bpf bpf " + bpffs + ")");
  }
  return {};
}

Result<std::vector<PinnedEnforcement>> list_pinned_enforcements(const std::string& bpffs) {
  std::vector<PinnedEnforcement> pinned;
  std::error_code error;
  const std::filesystem::path root = bpffs + "/tcpka";
  if (!std::filesystem::is_directory(root, error)) return pinned;
  for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
    const std::string directory = entry.path().string();
    const net::UniqueFd about_fd(bpf_obj_get((directory + "/" + kPinnedAbout).c_str()));
    const net::UniqueFd counters_fd(bpf_obj_get((directory + "/" + kPinnedCounters).c_str()));
    if (!about_fd || !counters_fd) continue;  // not one of ours, or half removed
    enforcement_about about{};
    const std::uint32_t zero = 0;
    if (bpf_map_lookup_elem(about_fd.get(), &zero, &about) != 0) continue;
    PinnedEnforcement found;
    found.directory = directory;
    found.cgroup = std::string(about.cgroup, ::strnlen(about.cgroup, sizeof(about.cgroup)));
    found.policy = std::string(about.policy, ::strnlen(about.policy, sizeof(about.policy)));
    found.pid = static_cast<pid_t>(about.pid);
    found.started_unix_seconds = about.started_unix_seconds;
    found.counters = read_counters(counters_fd.get());
    pinned.push_back(std::move(found));
  }
  if (error) return errno_error(error.value(), "read " + root.string() + ": " + error.message());
  return pinned;
}

Result<void> update_pinned_policy(const std::string& directory, const EnforcedPolicy& policy) {
  const net::UniqueFd policy_fd(bpf_obj_get((directory + "/" + kPinnedPolicy).c_str()));
  const net::UniqueFd about_fd(bpf_obj_get((directory + "/" + kPinnedAbout).c_str()));
  if (!policy_fd || !about_fd) return system_failure("open the pinned maps in " + directory);
  const std::uint32_t zero = 0;
  const enforced_policy value = map_value(policy);
  enforced_policy pinned{};
  enforcement_about about{};
  if (bpf_map_lookup_elem(about_fd.get(), &zero, &about) != 0 ||
      bpf_map_lookup_elem(policy_fd.get(), &zero, &pinned) != 0) {
    return system_failure("read the pinned policy in " + directory);
  }
  // --override decides whether the setsockopt program is attached at all.
  if (pinned.override != value.override) {
    return invalid_argument(
        "--override: the pinned attachment was made " +
        std::string(pinned.override != 0 ? "with" : "without") +
        " it, which decides which programs are attached; --remove it, then pin again");
  }
  if (bpf_map_update_elem(policy_fd.get(), &zero, &value, BPF_ANY) != 0) {
    return system_failure("update the policy in " + directory);
  }
  copy_text(about.policy, policy.text);
  if (bpf_map_update_elem(about_fd.get(), &zero, &about, BPF_ANY) != 0) {
    return system_failure("update the description in " + directory);
  }
  return {};
}

Result<void> remove_pinned_enforcement(const std::string& directory) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) {
    return errno_error(ENOENT, "nothing is pinned in " + directory);
  }
  // Unpinning a link drops its last reference, but the kernel frees a link dropped that
  // way later, on a workqueue (bpf_link_put): until then the program still runs for new
  // connections. BPF_LINK_DETACH detaches it now, so that --remove is done when it returns.
  for (const char* name : {kPinnedSockops, kPinnedSetsockopt}) {
    const std::string path = directory + "/" + name;
    const int link = bpf_obj_get(path.c_str());
    if (link < 0) continue;  // not pinned (no --override), or half removed
    const int detached = bpf_link_detach(link);
    ::close(link);
    if (detached != 0) return system_failure("BPF_LINK_DETACH " + path);
  }
  for (const char* name :
       {kPinnedSockops, kPinnedSetsockopt, kPinnedPolicy, kPinnedCounters, kPinnedAbout}) {
    const std::string path = directory + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return system_failure("unlink " + path);
  }
  if (::rmdir(directory.c_str()) != 0) return system_failure("rmdir " + directory);
  return {};
}

}  // namespace tcpka::host
