// Writing the records the hook reads into its models (kea-hook-sdk/src/record.rs has the
// form): one tag byte per value, fields by name, so a field is added here, in the model and in
// its renderer, and nowhere in between.
#pragma once

#include "rust/cxx.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace kea_runscript {

// A finished record, handed to Rust whole. Written in a std::vector, not a rust::Vec: each
// push to a rust::Vec is a call across the bridge, a few thousand of them per packet.
using RecordBytes = std::unique_ptr<std::vector<uint8_t>>;

class Record {
public:
    // Room for a typical packet or lease at once, rather than a dozen doublings per record.
    Record() : out_(1024) {}

    // An absent object (no argument, null pointer) / a present one, whose value follows.
    void none() { tag('n'); }
    void some() { tag('s'); }

    void boolean(bool value) { tag(value ? 't' : 'f'); }
    void uint(uint64_t value) { tag('u'); word(value); }
    void sint(int64_t value) { tag('i'); word(static_cast<uint64_t>(value)); }

    // Bytes: text as Kea holds it (any bytes), addresses, ids, option payloads.
    template <typename Container>
    void bytes(const Container& data) {
        bytes(data.data(), data.size());
    }
    void bytes(const uint8_t* data, size_t size) { bytes(reinterpret_cast<const char*>(data), size); }
    void bytes(const char* data, size_t size) {
        tag('b');
        const uint32_t len = static_cast<uint32_t>(size);
        uint8_t* at = room(4 + size);
        for (int shift = 0; shift < 32; shift += 8) {
            *at++ = static_cast<uint8_t>(len >> shift);
        }
        if (size != 0) {
            std::memcpy(at, data, size);
        }
    }

    // A struct: `key(name)` then its value, per field.
    void begin_map() { tag('{'); }
    void end_map() { tag('}'); }
    void key(const char* name) {
        const size_t len = std::strlen(name);
        uint8_t* at = room(2 + len);
        at[0] = 'k';
        at[1] = static_cast<uint8_t>(len);
        std::memcpy(at + 2, name, len);
    }

    // A list, or a tuple such as (prefix address, prefix length).
    void begin_seq() { tag('['); }
    void end_seq() { tag(']'); }

    RecordBytes take() {
        out_.resize(used_);
        used_ = 0;
        return (std::make_unique<std::vector<uint8_t>>(std::move(out_)));
    }

private:
    // `n` bytes at the end, to be written by the caller. The vector is kept at its full
    // size and `used_` marks the end, so a write is a store, not a push_back (which the
    // compiler does not always inline: a call per byte written).
    uint8_t* room(size_t n) {
        if (out_.size() - used_ < n) {
            out_.resize(std::max(out_.size() * 2, used_ + n));
        }
        uint8_t* at = out_.data() + used_;
        used_ += n;
        return (at);
    }
    void tag(char t) { *room(1) = static_cast<uint8_t>(t); }
    void word(uint64_t value) {
        uint8_t* at = room(8);
        for (int shift = 0; shift < 64; shift += 8) {
            *at++ = static_cast<uint8_t>(value >> shift);
        }
    }

    std::vector<uint8_t> out_;
    size_t used_ = 0;
};

} // namespace kea_runscript
