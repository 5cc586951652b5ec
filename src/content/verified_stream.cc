#include "content/verified_stream.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/check.h"

namespace thunder::content {

using crypto::ChainingValue;
using crypto::groupLength;
using crypto::kGroupSize;
using crypto::kParentSize;

namespace {

std::string describe(const WalkNode& node) {
  if (node.isGroup()) {
    return fmt::format("group {} (bytes from {})", node.first_group, node.first_group * kGroupSize);
  }
  return fmt::format("parent node {} (groups [{}, {}))", node.pre_index, node.first_group,
                     node.first_group + node.count);
}

}  // namespace

// ---- RangeEncoder ----

RangeEncoder::RangeEncoder(BlobSource& source, const ByteRanges& ranges)
    : source_(source), walk_(source.size(), ranges, ChainingValue{}) {
  const uint64_t size = source.size();
  for (size_t i = 0; i < kStreamHeaderSize; ++i) small_[i] = static_cast<uint8_t>(size >> (8 * i));
  small_len_ = kStreamHeaderSize;
}

Result<void> RangeEncoder::startNext() {
  small_len_ = 0;
  pos_ = 0;
  const std::optional<WalkNode> node = walk_.next();
  if (!node) {
    done_ = true;
    return {};
  }
  if (node->isGroup()) {
    data_offset_ = node->first_group * kGroupSize;
    data_left_ = groupLength(source_.size(), node->first_group);
    return {};
  }
  THUNDER_TRY(source_.readOutboard(node->pre_index * kParentSize, std::span(small_)));
  small_len_ = kParentSize;
  walk_.descend(*node, ChainingValue{}, ChainingValue{});
  return {};
}

Result<size_t> RangeEncoder::read(std::span<uint8_t> out) {
  size_t written = 0;
  while (written < out.size() && !done_) {
    if (pos_ < small_len_) {
      const size_t n = std::min(small_len_ - pos_, out.size() - written);
      std::memcpy(out.data() + written, small_.data() + pos_, n);
      pos_ += n;
      written += n;
    } else if (data_left_ > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(data_left_, out.size() - written));
      THUNDER_TRY(source_.readData(data_offset_, out.subspan(written, n)));
      data_offset_ += n;
      data_left_ -= n;
      written += n;
    } else {
      THUNDER_TRY(startNext());
    }
  }
  return written;
}

Result<void> encodeRanges(BlobSource& source, const ByteRanges& ranges,
                          const StreamWriteFn& write) {
  RangeEncoder encoder(source, ranges);
  std::vector<uint8_t> buffer(64 * 1024);
  while (!encoder.done()) {
    THUNDER_ASSIGN_OR_RETURN(const size_t n, encoder.read(buffer));
    if (n > 0) THUNDER_TRY(write(std::span(buffer).first(n)));
  }
  return {};
}

// ---- RangeDecoder ----

RangeDecoder::RangeDecoder(const BlobId& id, ByteRanges ranges, EmitFn emit)
    : id_(id), ranges_(std::move(ranges)), emit_(std::move(emit)), buffer_(kGroupSize) {}

Result<void> RangeDecoder::failWith(Error error) {
  error_ = error;
  return fail(std::move(error));
}

Result<void> RangeDecoder::feed(std::span<const uint8_t> bytes) {
  if (error_) return fail(*error_);
  while (!bytes.empty()) {
    if (!claimed_size_) {
      const size_t take = std::min(kStreamHeaderSize - buffered_, bytes.size());
      std::memcpy(header_.data() + buffered_, bytes.data(), take);
      buffered_ += take;
      consumed_ += take;
      bytes = bytes.subspan(take);
      if (buffered_ < kStreamHeaderSize) break;
      uint64_t size = 0;
      for (size_t i = 0; i < kStreamHeaderSize; ++i) size |= uint64_t{header_[i]} << (8 * i);
      claimed_size_ = size;
      buffered_ = 0;
      ChainingValue root;
      std::copy(id_.bytes().begin(), id_.bytes().end(), root.begin());
      walk_.emplace(size, ranges_, root);
      auto advanced = advance();
      if (!advanced) return failWith(std::move(advanced).error());
      continue;
    }
    if (done_) {
      return failWith(Error{ErrorCode::kCorruption,
                            fmt::format("{} unexpected bytes after the end of the stream at "
                                        "offset {} (blob {})",
                                        bytes.size(), consumed_, id_.hex())});
    }
    std::span<const uint8_t> node_bytes;
    if (buffered_ == 0 && bytes.size() >= node_len_) {  // whole node in the input: no copy
      node_bytes = bytes.first(static_cast<size_t>(node_len_));
      bytes = bytes.subspan(node_bytes.size());
      consumed_ += node_bytes.size();
    } else {
      const size_t take =
          static_cast<size_t>(std::min<uint64_t>(node_len_ - buffered_, bytes.size()));
      std::memcpy(buffer_.data() + buffered_, bytes.data(), take);
      buffered_ += take;
      consumed_ += take;
      bytes = bytes.subspan(take);
      if (buffered_ < node_len_) break;
      node_bytes = std::span<const uint8_t>(buffer_).first(buffered_);
      buffered_ = 0;
    }
    auto completed = completeNode(node_bytes);
    if (completed) completed = advance();
    if (!completed) return failWith(std::move(completed).error());
  }
  return {};
}

Result<void> RangeDecoder::completeNode(std::span<const uint8_t> bytes) {
  const WalkNode& node = *node_;
  const uint64_t at = consumed_ - bytes.size();
  if (!node.isGroup()) {
    const auto parent = bytes.first<kParentSize>();
    if (crypto::hashParent(parent, node.role) != node.expected) {
      return fail(ErrorCode::kCorruption, "{} at stream offset {} does not match its hash{}",
                  describe(node), at,
                  node.role == crypto::NodeRole::kRoot
                      ? fmt::format(" (not blob {}, or a wrong size {} in the header)", id_.hex(),
                                    *claimed_size_)
                      : "");
    }
    ChainingValue left, right;
    std::copy(parent.begin(), parent.begin() + 32, left.begin());
    std::copy(parent.begin() + 32, parent.end(), right.begin());
    walk_->descend(node, left, right);
    return {};
  }
  if (crypto::hashGroup(bytes, node.first_group, node.role) != node.expected) {
    return fail(ErrorCode::kCorruption,
                "group {} (bytes [{}, {})) at stream offset {} does not match its hash{}",
                node.first_group, node.first_group * kGroupSize,
                node.first_group * kGroupSize + bytes.size(), at,
                node.role == crypto::NodeRole::kRoot
                    ? fmt::format(" (not blob {}, or a wrong size {} in the header)", id_.hex(),
                                  *claimed_size_)
                    : "");
  }
  if (node.first_group + 1 == crypto::groupCount(*claimed_size_)) {
    verified_size_ = claimed_size_;  // the last group has the claimed length and position
  }
  if (!bytes.empty()) THUNDER_TRY(emit_(node.first_group * kGroupSize, bytes));
  return {};
}

Result<void> RangeDecoder::advance() {
  for (;;) {
    node_ = walk_->next();
    if (!node_) {
      done_ = true;
      return {};
    }
    node_len_ = node_->isGroup() ? groupLength(*claimed_size_, node_->first_group) : kParentSize;
    if (node_len_ > 0) return {};
    THUNDER_TRY(completeNode({}));  // the empty group of an empty blob
  }
}

Result<void> RangeDecoder::finish() {
  if (error_) return fail(*error_);
  if (done_) return {};
  if (!claimed_size_) {
    return failWith(Error{ErrorCode::kCorruption,
                          fmt::format("stream truncated after {} bytes: the 8-byte size header "
                                      "is incomplete (blob {})",
                                      consumed_, id_.hex())});
  }
  return failWith(Error{ErrorCode::kCorruption,
                        fmt::format("stream truncated at offset {}: received {} of the {} bytes "
                                    "of {} (blob {})",
                                    consumed_, buffered_, node_len_, describe(*node_), id_.hex())});
}

}  // namespace thunder::content
