#include "logging.hpp"

#include <memory>
#include <string_view>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace zrelay {

namespace {

// %j: the message as the body of a JSON string, so one event is one valid JSON object per line
// whatever its text holds.
class json_message_flag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg &msg, const std::tm & /*tm*/,
                spdlog::memory_buf_t &dest) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        for (const char c : text) {
            switch (c) {
            case '"':
                dest.append(std::string_view("\\\""));
                break;
            case '\\':
                dest.append(std::string_view("\\\\"));
                break;
            case '\n':
                dest.append(std::string_view("\\n"));
                break;
            case '\r':
                dest.append(std::string_view("\\r"));
                break;
            case '\t':
                dest.append(std::string_view("\\t"));
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    static constexpr char hex[] = "0123456789abcdef";
                    const auto u = static_cast<unsigned char>(c);
                    const char esc[] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 0xf]};
                    dest.append(esc, esc + sizeof esc);
                } else {
                    dest.push_back(c);
                }
            }
        }
    }
    [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<json_message_flag>();
    }
};

} // namespace

namespace {

void apply(spdlog::logger &logger, const log_config &cfg,
           const std::optional<std::string> &level_override) {
    if (cfg.format == log_format::json) {
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<json_message_flag>('j').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%l","thread":%t,"msg":"%j"})");
        logger.set_formatter(std::move(formatter));
    } else {
        logger.set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l [%t] %v");
    }
    logger.set_level(spdlog::level::from_str(level_override.value_or(cfg.level)));
}

} // namespace

void setup_logging(const log_config &cfg, const std::optional<std::string> &level_override) {
    auto logger = spdlog::stderr_logger_mt("zrelayd");
    apply(*logger, cfg, level_override);
    // Warnings and errors are rare and matter most when the process is about to die.
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
}

void reconfigure_logging(const log_config &cfg, const std::optional<std::string> &level_override) {
    apply(*spdlog::default_logger(), cfg, level_override);
}

} // namespace zrelay
