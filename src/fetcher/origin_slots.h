// OriginSlots<Job>: admission of origin requests under two bounds — requests in flight in total
// and per origin (scheme://host:port) — with a bounded FIFO queue for the ones that must wait.
// A queued job starts as soon as both of its bounds have room; a job whose origin is full does
// not hold back queued jobs of other origins.
//
// Not synchronized: the Fetcher uses it under its mutex. Header-only (a template).
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace thunder::fetcher {

enum class Admission { kStart, kQueued, kRefused };

template <typename Job>
class OriginSlots {
 public:
  OriginSlots(size_t max_total, size_t max_per_host, size_t max_queued)
      : max_total_(max_total), max_per_host_(max_per_host), max_queued_(max_queued) {}

  // kStart: a slot of `host` is taken, the caller starts `job` and later calls release(host).
  // kQueued: `job` was moved into the queue; release() hands it back when it may start.
  // kRefused: the queue is full; `job` is left alone.
  Admission admit(const std::string& host, Job& job) {
    if (hasRoom(host)) {
      take(host);
      return Admission::kStart;
    }
    if (queue_.size() >= max_queued_) return Admission::kRefused;
    queue_.emplace_back(host, std::move(job));
    return Admission::kQueued;
  }

  // Frees the slot of a job of `host` that ended. Returns the queued jobs that now hold a slot,
  // in queue order; the caller starts them (and releases each when it ends).
  std::vector<Job> release(const std::string& host) {
    if (auto it = per_host_.find(host); it != per_host_.end() && --it->second == 0) {
      per_host_.erase(it);
    }
    --total_;
    std::vector<Job> ready;
    for (auto it = queue_.begin(); it != queue_.end() && total_ < max_total_;) {
      if (hasRoom(it->first)) {
        take(it->first);
        ready.push_back(std::move(it->second));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    return ready;
  }

  // Empties the queue (stop): the jobs never got a slot.
  std::vector<Job> takeQueued() {
    std::vector<Job> out;
    for (auto& [host, job] : queue_) out.push_back(std::move(job));
    queue_.clear();
    return out;
  }

  size_t active() const { return total_; }
  size_t queued() const { return queue_.size(); }

 private:
  bool hasRoom(const std::string& host) const {
    if (total_ >= max_total_) return false;
    const auto it = per_host_.find(host);
    return it == per_host_.end() || it->second < max_per_host_;
  }
  void take(const std::string& host) {
    ++total_;
    ++per_host_[host];
  }

  size_t max_total_;
  size_t max_per_host_;
  size_t max_queued_;
  size_t total_ = 0;
  std::unordered_map<std::string, size_t> per_host_;
  std::deque<std::pair<std::string, Job>> queue_;
};

}  // namespace thunder::fetcher
