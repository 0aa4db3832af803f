#include "serve/server_stats.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

namespace tcpka::tools {
namespace {

std::uint64_t load(const std::atomic<std::uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

CloseCause cause_at(std::size_t index) {
  return static_cast<CloseCause>(index);
}

}  // namespace

ServerTotals ServerTotals::sum(std::span<const WorkerCounters> workers) {
  ServerTotals totals;
  for (const WorkerCounters& w : workers) {
    // `closed` before `accepted`, so that open() never goes negative mid-update.
    totals.closed += load(w.closed);
    totals.accepted += load(w.accepted);
    totals.accepted_by_worker.push_back(load(w.accepted));
    for (std::size_t i = 0; i < totals.closed_by_cause.size(); ++i) {
      totals.closed_by_cause[i] += load(w.closed_by_cause[i]);
    }
    totals.bytes_in += load(w.bytes_in);
    totals.bytes_out += load(w.bytes_out);
    totals.refused_max_conns += load(w.refused_max_conns);
    totals.refused_per_ip += load(w.refused_per_ip);
    totals.dropped_out_of_fds += load(w.dropped_out_of_fds);
    totals.accept_errors += load(w.accept_errors);
    totals.pings_received += load(w.pings_received);
    totals.pings_sent += load(w.pings_sent);
  }
  return totals;
}

std::string render_summary(const ServerTotals& t) {
  std::string causes;
  for (std::size_t i = 0; i < t.closed_by_cause.size(); ++i) {
    if (t.closed_by_cause[i] == 0) continue;
    causes += fmt::format("{}{} {}", causes.empty() ? "" : ", ", to_string(cause_at(i)),
                          t.closed_by_cause[i]);
  }
  const std::string pings =
      t.pings_received + t.pings_sent == 0
          ? std::string()
          : fmt::format("; pings {} received, {} sent", t.pings_received, t.pings_sent);
  return fmt::format(
      "served {} connections ({} open); closed {}{}{}; {}B in, {}B out; refused {} (max-conns "
      "{}, per-ip {}); dropped for want of descriptors {}; accept errors {}{}\n",
      t.accepted, t.open(), t.closed, causes.empty() ? "" : ": ", causes, t.bytes_in, t.bytes_out,
      t.refused_max_conns + t.refused_per_ip, t.refused_max_conns, t.refused_per_ip,
      t.dropped_out_of_fds, t.accept_errors, pings);
}

std::string render_summary_json(const ServerTotals& t) {
  nlohmann::json closed_by_cause = nlohmann::json::object();
  for (std::size_t i = 0; i < t.closed_by_cause.size(); ++i) {
    if (t.closed_by_cause[i] != 0)
      closed_by_cause[std::string(to_string(cause_at(i)))] = t.closed_by_cause[i];
  }
  return nlohmann::json{{"event", "summary"},
                        {"accepted", t.accepted},
                        {"open", t.open()},
                        {"closed", t.closed},
                        {"closed_by_cause", closed_by_cause},
                        {"bytes_in", t.bytes_in},
                        {"bytes_out", t.bytes_out},
                        {"refused_max_conns", t.refused_max_conns},
                        {"refused_per_ip", t.refused_per_ip},
                        {"dropped_out_of_fds", t.dropped_out_of_fds},
                        {"accept_errors", t.accept_errors},
                        {"pings_received", t.pings_received},
                        {"pings_sent", t.pings_sent}}
             .dump() +
         "\n";
}

std::string render_prometheus(const ServerTotals& t) {
  std::string text;
  const auto metric = [&](const char* name, const char* type, const char* help) {
    text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  metric("tcpka_connections_open", "gauge", "Connections open now.");
  text += fmt::format("tcpka_connections_open {}\n", t.open());
  metric("tcpka_connections_accepted_total", "counter", "Connections accepted.");
  text += fmt::format("tcpka_connections_accepted_total {}\n", t.accepted);
  metric("tcpka_worker_connections_accepted_total", "counter",
         "Connections accepted, by worker thread.");
  for (std::size_t i = 0; i < t.accepted_by_worker.size(); ++i) {
    text += fmt::format("tcpka_worker_connections_accepted_total{{worker=\"{}\"}} {}\n", i,
                        t.accepted_by_worker[i]);
  }
  metric("tcpka_connections_closed_total", "counter", "Connections closed, by cause.");
  for (std::size_t i = 0; i < t.closed_by_cause.size(); ++i) {
    text += fmt::format("tcpka_connections_closed_total{{cause=\"{}\"}} {}\n",
                        to_string(cause_at(i)), t.closed_by_cause[i]);
  }
  metric("tcpka_connections_refused_total", "counter", "Connections refused at accept.");
  text += fmt::format("tcpka_connections_refused_total{{reason=\"max_conns\"}} {}\n",
                      t.refused_max_conns);
  text +=
      fmt::format("tcpka_connections_refused_total{{reason=\"per_ip\"}} {}\n", t.refused_per_ip);
  metric("tcpka_accept_errors_total", "counter", "accept() failures.");
  text += fmt::format("tcpka_accept_errors_total{{reason=\"out_of_descriptors\"}} {}\n",
                      t.dropped_out_of_fds);
  text += fmt::format("tcpka_accept_errors_total{{reason=\"other\"}} {}\n", t.accept_errors);
  metric("tcpka_received_bytes_total", "counter", "Bytes received from peers.");
  text += fmt::format("tcpka_received_bytes_total {}\n", t.bytes_in);
  metric("tcpka_sent_bytes_total", "counter", "Bytes sent to peers.");
  text += fmt::format("tcpka_sent_bytes_total {}\n", t.bytes_out);
  metric("tcpka_heartbeat_pings_total", "counter", "Heartbeat pings (--heartbeat), by direction.");
  text +=
      fmt::format("tcpka_heartbeat_pings_total{{direction=\"received\"}} {}\n", t.pings_received);
  text += fmt::format("tcpka_heartbeat_pings_total{{direction=\"sent\"}} {}\n", t.pings_sent);
  return text;
}

}  // namespace tcpka::tools
