// log_format and logging (daemon/ops/log_format.*, logging.*): what a line looks like in text and
// JSON, with and without journald, written through a real spdlog logger.
#include "log_format.hpp"

#include <cstdio>
#include <memory>
#include <regex>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include "log_event.hpp"
#include "logging.hpp"

namespace zrelay {
namespace {

// One line as `format` writes it at `level`.
std::string line(log_format format, bool journal, spdlog::level::level_enum level,
                 const std::string &text) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    spdlog::logger logger("test", sink);
    logger.set_formatter(make_log_formatter(format, journal));
    logger.set_level(spdlog::level::trace);
    logger.log(level, "{}", text);
    return out.str();
}

const std::string drops = log_event("dropped invalid messages")
                              .add("reason", "malformed")
                              .add("count", 20000)
                              .add("bytes", std::uint64_t{240000})
                              .str();

TEST(log_format, text_writes_fields_as_key_value_after_a_timestamp) {
    const std::string l = line(log_format::text, false, spdlog::level::warn, drops);
    EXPECT_TRUE(std::regex_search(
        l,
        std::regex(
            R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[-+][0-9]{2}:[0-9]{2} warn \[[0-9]+\] dropped invalid )"
            R"(messages reason=malformed count=20000 bytes=240000\n$)")))
        << l;
}

TEST(log_format, json_writes_fields_as_members_numbers_as_numbers) {
    const std::string l = line(log_format::json, false, spdlog::level::warn, drops);
    EXPECT_TRUE(std::regex_search(
        l,
        std::regex(
            R"(^\{"time":"[0-9]{4}-[^"]+","level":"warn","thread":[0-9]+,"msg":"dropped invalid )"
            R"(messages","reason":"malformed","count":20000,"bytes":240000\}\n$)")))
        << l;
}

TEST(log_format, level_names_are_the_configs) {
    const std::pair<spdlog::level::level_enum, const char *> levels[] = {
        {spdlog::level::trace, "trace"}, {spdlog::level::debug, "debug"},
        {spdlog::level::info, "info"},   {spdlog::level::warn, "warn"},
        {spdlog::level::err, "error"},   {spdlog::level::critical, "critical"}};
    for (const auto &[level, name] : levels) {
        EXPECT_NE(line(log_format::text, false, level, "x").find(std::string(" ") + name + " ["),
                  std::string::npos)
            << name;
        EXPECT_NE(line(log_format::json, false, level, "x")
                      .find(std::string(R"("level":")") + name + '"'),
                  std::string::npos)
            << name;
    }
}

TEST(log_format, under_journald_a_priority_prefix_replaces_the_timestamp) {
    const std::pair<spdlog::level::level_enum, const char *> levels[] = {
        {spdlog::level::debug, "<7>debug"},
        {spdlog::level::info, "<6>info"},
        {spdlog::level::warn, "<4>warn"},
        {spdlog::level::err, "<3>error"},
        {spdlog::level::critical, "<2>critical"}};
    for (const auto &[level, prefix] : levels) {
        const std::string l = line(log_format::text, true, level, "x");
        EXPECT_EQ(l.rfind(std::string(prefix) + " [", 0), 0U) << l;
    }
    EXPECT_TRUE(std::regex_match(
        line(log_format::text, true, spdlog::level::warn, drops),
        std::regex(
            R"(<4>warn \[[0-9]+\] dropped invalid messages reason=malformed count=20000 bytes=240000\n)")));
    const std::string json = line(log_format::json, true, spdlog::level::err, drops);
    EXPECT_EQ(json.rfind(R"(<3>{"level":"error","thread":)", 0), 0U) << json;
    EXPECT_EQ(json.find("time"), std::string::npos) << json;
}

TEST(log_format, values_that_need_it_are_quoted_and_escaped) {
    const std::string e = log_event("refused clients")
                              .add("detail", "public key \"x\" not\tallowed")
                              .add("key", "")
                              .add("path", "a=b\\c")
                              .str();
    const std::string text = line(log_format::text, true, spdlog::level::warn, e);
    EXPECT_NE(text.find(R"(detail="public key \"x\" not\x09allowed" key="" path="a=b\\c")"),
              std::string::npos)
        << text;
    const std::string json = line(log_format::json, true, spdlog::level::warn, e);
    EXPECT_NE(json.find(R"("detail":"public key \"x\" not\tallowed","key":"","path":"a=b\\c")"),
              std::string::npos)
        << json;
}

TEST(log_format, text_cannot_forge_a_field) {
    // A value or message holding the separator (from a peer: a topic, an endpoint) stays text.
    const std::string e = log_event("a\x1fsforged=1").add("endpoint", "tcp://x\x1fncount=99").str();
    const std::string json = line(log_format::json, true, spdlog::level::warn, e);
    EXPECT_NE(json.find(R"("msg":"a sforged=1","endpoint":"tcp://x ncount=99"})"),
              std::string::npos)
        << json;
}

TEST(log_format, messages_without_fields_are_written_as_before) {
    const std::string json =
        line(log_format::json, false, spdlog::level::info, "line 1\nline \"2\"");
    EXPECT_NE(json.find(R"("msg":"line 1\nline \"2\""})"), std::string::npos) << json;
    const std::string text = line(log_format::text, true, spdlog::level::info, "plain text");
    EXPECT_EQ(text, "<6>info [" + text.substr(9, text.find(']') - 9) + "] plain text\n");
}

TEST(is_journal_stream, matches_only_the_device_and_inode_of_the_fd) {
    char path[] = "/tmp/zrelay-journal-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
    EXPECT_TRUE(is_journal_stream(fd, mine.c_str()));
    EXPECT_FALSE(is_journal_stream(fd, other.c_str()));
    EXPECT_FALSE(is_journal_stream(fd, nullptr));
    EXPECT_FALSE(is_journal_stream(fd, ""));
    EXPECT_FALSE(is_journal_stream(-1, mine.c_str()));
    ::close(fd);
    ::unlink(path);
}

} // namespace
} // namespace zrelay
