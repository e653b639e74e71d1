#include "logging.hpp"

#include <cstdlib>
#include <memory>

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "log_format.hpp"

namespace zrelay {

bool is_journal_stream(int fd, const char *journal_stream) {
    if (journal_stream == nullptr)
        return false;
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return false;
    return fmt::format("{}:{}", st.st_dev, st.st_ino) == journal_stream;
}

namespace {

void apply(spdlog::logger &logger, const log_config &cfg,
           const std::optional<std::string> &level_override) {
    // Decided once, at the first call: setup_logging(), on main's thread at start.
    static const bool journal =
        is_journal_stream(STDERR_FILENO,
                          std::getenv("JOURNAL_STREAM")); // NOLINT(concurrency-mt-unsafe)
    logger.set_formatter(make_log_formatter(cfg.format, journal));
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
