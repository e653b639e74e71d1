#include "envelope.hpp"

#include <climits>
#include <mutex>
#include <string>

#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include "zrelay/v1/data_message.pb.h"
#include "zrelay/v1/data_message_bytes.pb.h"

namespace zrelay {

std::string_view to_string(invalid_reason reason) noexcept {
    switch (reason) {
    case invalid_reason::none:
        return "none";
    case invalid_reason::malformed:
        return "malformed";
    case invalid_reason::bad_utf8:
        return "bad_utf8";
    case invalid_reason::oversize:
        return "oversize";
    case invalid_reason::multipart:
        return "multipart";
    }
    return "unknown"; // only reachable through a cast of an out-of-range value
}

struct envelope_decoder::impl {
    // Reused across decodes: ParseFromArray clears it first, and clearing keeps the strings'
    // capacity, so a steady stream stops allocating.
    v1::DataMessage message;
    // Only parsed into on the cold path, after `message` refused the bytes.
    v1::DataMessageBytes lenient;
};

envelope_decoder::envelope_decoder() : _impl(std::make_unique<impl>()) {}
envelope_decoder::~envelope_decoder() = default;
envelope_decoder::envelope_decoder(envelope_decoder &&) noexcept = default;
envelope_decoder &envelope_decoder::operator=(envelope_decoder &&) noexcept = default;

decode_result envelope_decoder::decode(const void *data, std::size_t size) noexcept {
    // protobuf takes an int size; nothing that large is a message the relay would accept.
    if (size > static_cast<std::size_t>(INT_MAX))
        return {invalid_reason::malformed, {}};
    // An empty frame is the all-defaults DataMessage (proto3), so it is valid; give protobuf a
    // real pointer rather than rely on it never offsetting a null one.
    static constexpr char empty = 0;
    if (data == nullptr) {
        if (size != 0)
            return {invalid_reason::malformed, {}};
        data = &empty;
    }
    const int length = static_cast<int>(size);

    if (_impl->message.ParseFromArray(data, length))
        return {invalid_reason::none, _impl->message.topic()};

    // Cold path. protobuf gives no reason for a failed parse, and refusing invalid UTF-8 in a
    // string field is one. The twin reads those fields as bytes, so if it parses, UTF-8 was the
    // only problem.
    const bool parses_as_bytes = _impl->lenient.ParseFromArray(data, length);
    return {parses_as_bytes ? invalid_reason::bad_utf8 : invalid_reason::malformed, {}};
}

namespace {

void forward_protobuf_log(google::protobuf::LogLevel level, const char *filename, int line,
                          const std::string &message) {
    const char *file = filename != nullptr ? filename : "?";
    // After FATAL libprotobuf aborts, so that one must be seen. Everything else it logs at run
    // time is about the input (one ERROR per invalid UTF-8 string), which the invalid-message
    // metric already counts: keep it out of the default log.
    if (level == google::protobuf::LOGLEVEL_FATAL)
        spdlog::critical("libprotobuf: {} ({}:{})", message, file, line);
    else
        spdlog::debug("libprotobuf: {} ({}:{})", message, file, line);
}

} // namespace

void install_protobuf_log_handler() {
    // SetLogHandler writes a plain global; call_once makes concurrent or repeated calls safe.
    static std::once_flag installed;
    std::call_once(installed, [] { google::protobuf::SetLogHandler(&forward_protobuf_log); });
}

} // namespace zrelay
