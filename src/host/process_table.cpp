#include "host/process_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "net/unique_fd.h"

namespace tcpka::host {
namespace {

// Directory streams through openat/fdopendir, so that a process's files are reached
// from its /proc directory without building a path per file: with 100,000 sockets the
// walk is most of what `tcpka inspect` does.
struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
using Dir = std::unique_ptr<DIR, DirCloser>;

Dir open_dir_at(int parent, const char* name) {
  const int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) ::close(fd);
  return Dir(dir);
}

template <class Number>
bool parse_number(std::string_view text, Number& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

std::string read_small_file_at(int parent, const char* name) {
  const net::UniqueFd fd(::openat(parent, name, O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  std::array<char, 4096> buffer{};
  const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
  return n > 0 ? std::string(buffer.data(), static_cast<std::size_t>(n)) : "";
}

// The cgroup v2 line of /proc/PID/cgroup: "0::/path".
std::string cgroup_v2_path(const std::string& text) {
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    if (line.starts_with("0::")) return std::string(line.substr(3));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return "";
}

// Adds the sockets and network namespaces `pid` holds to `table`; false if its
// descriptors cannot be listed.
bool read_socket_descriptors(int process_dir, pid_t pid, ProcessTable& table) {
  const Dir fds = open_dir_at(process_dir, "fd");
  if (!fds) return false;
  const int fds_fd = ::dirfd(fds.get());
  constexpr std::string_view kSocketPrefix = "socket:[";
  constexpr std::string_view kNamespacePrefix = "net:[";
  std::array<char, 64> target{};
  while (const dirent* entry = ::readdir(fds.get())) {
    int fd = -1;
    if (!parse_number(std::string_view(entry->d_name), fd)) continue;
    const ssize_t n = ::readlinkat(fds_fd, entry->d_name, target.data(), target.size());
    if (n <= 0) continue;
    const std::string_view link(target.data(), static_cast<std::size_t>(n));
    if (!link.ends_with(']')) continue;
    const auto inode_after = [&link](std::string_view prefix) {
      std::uint64_t inode = 0;
      return parse_number(link.substr(prefix.size(), link.size() - prefix.size() - 1), inode)
                 ? inode
                 : 0;
    };
    if (link.starts_with(kSocketPrefix)) {
      if (const std::uint64_t inode = inode_after(kSocketPrefix); inode != 0) {
        table.holders[inode].push_back({pid, fd});
      }
    } else if (link.starts_with(kNamespacePrefix)) {
      if (const std::uint64_t inode = inode_after(kNamespacePrefix); inode != 0) {
        table.namespace_holders.try_emplace(inode, SocketHolder{pid, fd});
      }
    }
  }
  return true;
}

}  // namespace

namespace {

// Adds the process whose /proc directory is `name` (its pid) to `table`; false when it
// has exited.
bool read_process(int proc_fd, const char* name, pid_t pid, ProcessTable& table) {
  const net::UniqueFd dir(::openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return false;
  ProcessInfo info;
  info.pid = pid;
  info.command = read_small_file_at(dir.get(), "comm");
  if (!info.command.empty() && info.command.back() == '\n') info.command.pop_back();
  info.cgroup = cgroup_v2_path(read_small_file_at(dir.get(), "cgroup"));
  struct stat ns {};
  if (::fstatat(dir.get(), "ns/net", &ns, 0) == 0) info.netns = ns.st_ino;
  if (!read_socket_descriptors(dir.get(), pid, table)) {
    // Gone meanwhile, or not ours to read: only the latter is worth a word.
    if (::faccessat(dir.get(), "fd", F_OK, 0) == 0) ++table.unreadable;
  }
  table.processes.emplace(pid, std::move(info));
  return true;
}

}  // namespace

ProcessTable read_process_table() {
  ProcessTable table;
  const Dir proc(::opendir("/proc"));
  if (!proc) return table;
  const int proc_fd = ::dirfd(proc.get());
  while (const dirent* entry = ::readdir(proc.get())) {
    pid_t pid = 0;
    if (!parse_number(std::string_view(entry->d_name), pid)) continue;
    read_process(proc_fd, entry->d_name, pid, table);  // false: it exited
  }
  return table;
}

ProcessTable read_process_table(pid_t pid) {
  ProcessTable table;
  const net::UniqueFd proc(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (proc) read_process(proc.get(), std::to_string(pid).c_str(), pid, table);
  return table;
}

}  // namespace tcpka::host
