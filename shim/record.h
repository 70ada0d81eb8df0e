// Writing the records the hook reads into its models (kea-runscript-hook/src/record.rs has the
// form): one tag byte per value, fields by name, so a field is added here, in the model and in
// its renderer, and nowhere in between.
#pragma once

#include "rust/cxx.h"

#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

namespace kea_runscript {

// A finished record, handed to Rust whole. Written in a std::vector, not a rust::Vec: each
// push to a rust::Vec is a call across the bridge, a few thousand of them per packet.
using RecordBytes = std::unique_ptr<std::vector<uint8_t>>;

class Record {
public:
    // Room for a typical packet or lease at once, rather than a dozen doublings per record.
    Record() { out_.reserve(1024); }

    // An absent object (no argument, null pointer) / a present one, whose value follows.
    void none() { tag('n'); }
    void some() { tag('s'); }

    void boolean(bool value) { tag(value ? 't' : 'f'); }
    void uint(uint64_t value) { tag('u'); word(value); }
    void sint(int64_t value) { tag('i'); word(static_cast<uint64_t>(value)); }

    // Bytes: text as Kea holds it (any bytes), addresses, ids, option payloads.
    template <typename Container>
    void bytes(const Container& data) {
        tag('b');
        const uint32_t len = static_cast<uint32_t>(data.size());
        for (int shift = 0; shift < 32; shift += 8) {
            out_.push_back(static_cast<uint8_t>(len >> shift));
        }
        out_.insert(out_.end(), std::begin(data), std::end(data));
    }

    // A struct: `key(name)` then its value, per field.
    void begin_map() { tag('{'); }
    void end_map() { tag('}'); }
    void key(const char* name) {
        tag('k');
        const size_t len = std::strlen(name);
        out_.push_back(static_cast<uint8_t>(len));
        out_.insert(out_.end(), name, name + len);
    }

    // A list, or a tuple such as (prefix address, prefix length).
    void begin_seq() { tag('['); }
    void end_seq() { tag(']'); }

    RecordBytes take() { return (std::make_unique<std::vector<uint8_t>>(std::move(out_))); }

private:
    void tag(char t) { out_.push_back(static_cast<uint8_t>(t)); }
    void word(uint64_t value) {
        for (int shift = 0; shift < 64; shift += 8) {
            out_.push_back(static_cast<uint8_t>(value >> shift));
        }
    }

    std::vector<uint8_t> out_;
};

} // namespace kea_runscript
