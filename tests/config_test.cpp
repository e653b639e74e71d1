#include "config.hpp"

#include <gtest/gtest.h>

#include <future>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.hpp"

namespace zrelay {
namespace {

constexpr std::string_view source = "test.yaml";

// The config_error message parse_config() throws for `yaml`; a test failure when it throws none.
std::string error_of(std::string_view yaml) {
    try {
        parse_config(yaml, source);
    } catch (const config_error &e) {
        return e.what();
    }
    ADD_FAILURE() << "no config_error for:\n" << yaml;
    return {};
}

// Every message starts "SOURCE:LINE:COLUMN: KEY: ", so a prefix checks the place and the key at
// once.
testing::AssertionResult starts_with(const std::string &message, std::string_view prefix) {
    if (message.starts_with(prefix))
        return testing::AssertionSuccess();
    return testing::AssertionFailure()
           << "\"" << message << "\" does not start with \"" << prefix << "\"";
}

testing::AssertionResult contains(const std::string &message, std::string_view part) {
    if (message.find(part) != std::string::npos)
        return testing::AssertionSuccess();
    return testing::AssertionFailure()
           << "\"" << message << "\" does not contain \"" << part << "\"";
}

config parse(std::string_view yaml) {
    return parse_config(yaml, source);
}

std::filesystem::path example_file() {
    return std::filesystem::path(__FILE__).parent_path().parent_path() / "config/zrelay.yaml";
}

// A file under the test's temporary directory, removed when the test ends.
class temp_file {
public:
    temp_file(const std::string &name, std::string_view contents)
        : _path(std::filesystem::path(testing::TempDir()) / name) {
        std::ofstream out(_path, std::ios::binary);
        out << contents;
    }
    temp_file(const temp_file &) = delete;
    temp_file &operator=(const temp_file &) = delete;
    ~temp_file() {
        std::error_code ignored;
        std::filesystem::remove(_path, ignored);
    }
    [[nodiscard]] std::string path() const { return _path.string(); }

private:
    std::filesystem::path _path;
};

// ---- defaults -------------------------------------------------------------------------------

TEST(config, defaults_are_the_documented_ones) {
    const config cfg = default_config();
    EXPECT_EQ(cfg.ingress.bind, std::vector<std::string>{"tcp://127.0.0.1:5555"});
    EXPECT_TRUE(cfg.ingress.connect.empty());
    EXPECT_EQ(cfg.ingress.rcvhwm, 1000);
    EXPECT_EQ(cfg.ingress.max_message_bytes, 1048576U);
    EXPECT_EQ(cfg.egress.bind, std::vector<std::string>{"tcp://127.0.0.1:5556"});
    EXPECT_TRUE(cfg.egress.connect.empty());
    EXPECT_EQ(cfg.egress.sndhwm, 1000);
    EXPECT_TRUE(cfg.egress.nodrop);
    EXPECT_TRUE(cfg.egress.stamp);
    EXPECT_EQ(cfg.egress.max_topics, 10000U);
    EXPECT_TRUE(cfg.egress.drop_notices);
    EXPECT_EQ(cfg.invalid.dead_letter, "");
    EXPECT_EQ(cfg.invalid.dead_letter_hwm, 1000);
    EXPECT_EQ(cfg.metrics.max_topic_labels, 100U);
    EXPECT_EQ(cfg.workers, 0U);
    EXPECT_EQ(cfg.io_threads, 1U);
    EXPECT_EQ(cfg.pipeline.max_inflight, 10000);
    EXPECT_EQ(cfg.routing.default_topic, "");
    EXPECT_EQ(cfg.metrics.listen, "127.0.0.1:9464");
    EXPECT_EQ(cfg.log.level, "info");
    EXPECT_EQ(cfg.log.format, log_format::text);
    EXPECT_EQ(cfg.shutdown.drain_timeout, std::chrono::milliseconds(5000));
    EXPECT_TRUE(cfg.egress.forward.empty());
    EXPECT_EQ(cfg.egress.forward_by, "topic");
    EXPECT_TRUE(cfg.ingress.subscribe.empty());
    EXPECT_TRUE(cfg.ingress.subscribe_topics.empty());
    EXPECT_EQ(cfg.routing.max_hops, 8U);
    EXPECT_EQ(cfg, config{});
}

TEST(config, empty_or_comment_only_text_means_all_defaults) {
    EXPECT_EQ(parse(""), default_config());
    EXPECT_EQ(parse("\n\n"), default_config());
    EXPECT_EQ(parse("# nothing here\n   # nor here\n"), default_config());
    EXPECT_EQ(parse("---\n"), default_config());
    EXPECT_EQ(parse("{}"), default_config());
}

TEST(config, an_empty_section_keeps_its_defaults) {
    const config cfg = parse("ingress:\nmetrics:\n  # listen: \"\"\nlog: {}\n");
    EXPECT_EQ(cfg, default_config());
}

TEST(config, the_default_config_survives_to_yaml) {
    EXPECT_EQ(parse(to_yaml(default_config())), default_config());
}

// ---- values ---------------------------------------------------------------------------------

TEST(config, every_key_is_read) {
    const config cfg = parse(R"(
ingress:
  bind: [tcp://*:6000, "ipc:///run/zrelay/in.sock"]
  connect: [tcp://producer.example:7000]
  rcvhwm: 0
  max_message_bytes: 268435456
egress:
  bind:
    - tcp://[::1]:6001
    - ipc://@zrelay-out
  connect: tcp://10.0.0.7:7001
  sndhwm: 2147483647
  nodrop: false
  stamp: false
  max_topics: 1000000
  drop_notices: false
workers: 3
io_threads: 16
pipeline: { max_inflight: 10000000 }
routing: { default_topic: "misc.unrouted" }
invalid: { dead_letter: "ipc:///run/zrelay/dead.sock", dead_letter_hwm: 0 }
metrics: { listen: "[::]:9100", max_topic_labels: 10000 }
log: { level: debug, format: json }
shutdown: { drain_timeout_ms: 0 }
)");
    EXPECT_EQ(cfg.ingress.bind,
              (std::vector<std::string>{"tcp://*:6000", "ipc:///run/zrelay/in.sock"}));
    EXPECT_EQ(cfg.ingress.connect, std::vector<std::string>{"tcp://producer.example:7000"});
    EXPECT_EQ(cfg.ingress.rcvhwm, 0);
    EXPECT_EQ(cfg.ingress.max_message_bytes, 268435456U);
    EXPECT_EQ(cfg.egress.bind, (std::vector<std::string>{"tcp://[::1]:6001", "ipc://@zrelay-out"}));
    EXPECT_EQ(cfg.egress.connect, std::vector<std::string>{"tcp://10.0.0.7:7001"});
    EXPECT_EQ(cfg.egress.sndhwm, 2147483647);
    EXPECT_FALSE(cfg.egress.nodrop);
    EXPECT_FALSE(cfg.egress.stamp);
    EXPECT_EQ(cfg.egress.max_topics, 1000000U);
    EXPECT_FALSE(cfg.egress.drop_notices);
    EXPECT_EQ(cfg.workers, 3U);
    EXPECT_EQ(cfg.io_threads, 16U);
    EXPECT_EQ(cfg.pipeline.max_inflight, 10000000);
    EXPECT_EQ(cfg.routing.default_topic, "misc.unrouted");
    EXPECT_EQ(cfg.invalid.dead_letter, "ipc:///run/zrelay/dead.sock");
    EXPECT_EQ(cfg.invalid.dead_letter_hwm, 0);
    EXPECT_EQ(cfg.metrics.listen, "[::]:9100");
    EXPECT_EQ(cfg.metrics.max_topic_labels, 10000U);
    EXPECT_EQ(cfg.log.level, "debug");
    EXPECT_EQ(cfg.log.format, log_format::json);
    EXPECT_EQ(cfg.shutdown.drain_timeout, std::chrono::milliseconds(0));
}

TEST(config, a_single_string_is_a_one_endpoint_list) {
    const config cfg = parse("ingress:\n  bind: tcp://0.0.0.0:7000\n");
    EXPECT_EQ(cfg.ingress.bind, std::vector<std::string>{"tcp://0.0.0.0:7000"});
}

TEST(config, giving_connect_replaces_the_default_bind) {
    const config cfg = parse("ingress:\n  connect: [tcp://broker:7000]\n");
    EXPECT_TRUE(cfg.ingress.bind.empty());
    EXPECT_EQ(cfg.ingress.connect, std::vector<std::string>{"tcp://broker:7000"});
    // The other section is untouched.
    EXPECT_EQ(cfg.egress, default_config().egress);
}

TEST(config, giving_bind_alone_leaves_connect_empty) {
    const config cfg = parse("egress:\n  bind: [ipc:///tmp/out.sock]\n  sndhwm: 5\n");
    EXPECT_EQ(cfg.egress.bind, std::vector<std::string>{"ipc:///tmp/out.sock"});
    EXPECT_TRUE(cfg.egress.connect.empty());
    EXPECT_EQ(cfg.egress.sndhwm, 5);
    EXPECT_EQ(cfg.ingress.bind, default_config().ingress.bind);
}

TEST(config, other_keys_of_a_section_keep_the_default_endpoints) {
    const config cfg = parse("ingress:\n  rcvhwm: 7\n");
    EXPECT_EQ(cfg.ingress.bind, default_config().ingress.bind);
    EXPECT_EQ(cfg.ingress.rcvhwm, 7);
}

TEST(config, yaml_true_and_false_spellings_are_booleans) {
    EXPECT_FALSE(parse("egress: {nodrop: False}").egress.nodrop);
    EXPECT_FALSE(parse("egress: {nodrop: FALSE}").egress.nodrop);
    EXPECT_TRUE(parse("egress: {nodrop: True}").egress.nodrop);
}

TEST(config, metrics_can_be_disabled) {
    EXPECT_EQ(parse("metrics: {listen: \"\"}").metrics.listen, "");
    EXPECT_EQ(parse("metrics: {listen: ''}").metrics.listen, "");
}

TEST(config, a_topic_may_be_255_bytes) {
    const std::string topic(255, 't');
    EXPECT_EQ(parse("routing: {default_topic: " + topic + "}").routing.default_topic, topic);
}

TEST(config, an_ipc_path_may_be_107_bytes) {
    const std::string endpoint = "ipc:///" + std::string(106, 'p');
    EXPECT_EQ(parse("ingress: {bind: \"" + endpoint + "\"}").ingress.bind,
              std::vector<std::string>{endpoint});
}

// ---- the shipped example --------------------------------------------------------------------

TEST(config, the_example_file_parses_and_states_the_defaults) {
    ASSERT_TRUE(std::filesystem::exists(example_file())) << example_file();
    EXPECT_EQ(load_config_file(example_file().string()), default_config());
}

TEST(config, the_example_file_names_every_key) {
    std::ifstream in(example_file());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char *key : {"ingress:",
                            "egress:",
                            "bind:",
                            "connect:",
                            "rcvhwm:",
                            "max_message_bytes:",
                            "sndhwm:",
                            "nodrop:",
                            "stamp:",
                            "max_topics:",
                            "drop_notices:",
                            "invalid:",
                            "dead_letter:",
                            "dead_letter_hwm:",
                            "max_topic_labels:",
                            "workers:",
                            "io_threads:",
                            "pipeline:",
                            "max_inflight:",
                            "routing:",
                            "default_topic:",
                            "metrics:",
                            "listen:",
                            "log:",
                            "level:",
                            "format:",
                            "shutdown:",
                            "drain_timeout_ms:",
                            "security:",
                            "curve:",
                            "secret_key_file:",
                            "allow:",
                            "handshake_timeout_ms:",
                            "ipc_mode:",
                            "ipc_group:",
                            "zrelayd keygen",
                            "zrelayd --config /etc/zrelay/zrelay.yaml",
                            "zrelayd --check-config --config"})
        EXPECT_TRUE(contains(text, key));
}

// ---- round trip -----------------------------------------------------------------------------

TEST(config, to_yaml_round_trips_every_value) {
    config cfg;
    cfg.ingress.bind = {};
    cfg.ingress.connect = {"tcp://a.example:1", "ipc://@abstract"};
    cfg.ingress.rcvhwm = 0;
    cfg.ingress.max_message_bytes = 1;
    cfg.egress.bind = {"tcp://*:*", "tcp://[fe80::1]:65535", "ipc:///tmp/with space.sock"};
    cfg.egress.connect = {};
    cfg.egress.sndhwm = 2147483647;
    cfg.egress.nodrop = false;
    cfg.egress.stamp = false;
    cfg.egress.max_topics = 1;
    cfg.egress.drop_notices = false;
    cfg.invalid = {"tcp://*:7777", 0};
    cfg.metrics.max_topic_labels = 0;
    cfg.workers = 64;
    cfg.io_threads = 16;
    cfg.pipeline.max_inflight = 1;
    // Strings that would not come back as themselves if written plainly.
    cfg.routing.default_topic = "null";
    cfg.metrics.listen = "";
    cfg.log.level = "off";
    cfg.log.format = log_format::json;
    cfg.shutdown.drain_timeout = std::chrono::milliseconds(3600000);
    cfg.security.ingress_curve = {"/etc/zrelay/in key", "/etc/zrelay/producers/"};
    cfg.security.egress_curve = {"null", "~"};
    cfg.security.handshake_timeout = std::chrono::milliseconds(0);
    cfg.security.ipc_mode = 0600;
    cfg.security.ipc_group = "zrelay-clients";
    const std::string yaml = to_yaml(cfg);
    EXPECT_EQ(parse(yaml), cfg) << yaml;
    // Links need the stamp.
    cfg.egress.stamp = true;
    cfg.egress.forward = {"tcp://central-1:5555", "ipc:///run/zrelay/central.sock"};
    cfg.egress.forward_by = "round_robin";
    cfg.ingress.subscribe = {"tcp://[::1]:5556"};
    cfg.ingress.subscribe_topics = {"", "null", "$zrelay/drops", "a: b"};
    cfg.routing.max_hops = 255;
    EXPECT_EQ(parse(to_yaml(cfg)), cfg) << to_yaml(cfg);

    for (const char *topic : {"~", "true", "123", "a: b # c", "'\"\\", "  padded  ", "*",
                              "tab\there", "caf\xc3\xa9", "- x", "[x]"}) {
        cfg.routing.default_topic = topic;
        EXPECT_EQ(parse(to_yaml(cfg)).routing.default_topic, topic) << to_yaml(cfg);
    }
}

// ---- links to other relays ------------------------------------------------------------------

TEST(config, links_are_read_beside_the_default_endpoints) {
    const config cfg = parse(R"(
ingress:
  subscribe: [tcp://central:5556, ipc:///run/central.sock]
  subscribe_topics: a.
egress:
  forward: tcp://central:5555
  forward_by: round_robin
routing: { max_hops: 3 }
)");
    EXPECT_EQ(cfg.ingress.subscribe,
              (std::vector<std::string>{"tcp://central:5556", "ipc:///run/central.sock"}));
    EXPECT_EQ(cfg.ingress.subscribe_topics, std::vector<std::string>{"a."});
    EXPECT_EQ(cfg.egress.forward, std::vector<std::string>{"tcp://central:5555"});
    EXPECT_EQ(cfg.egress.forward_by, "round_robin");
    EXPECT_EQ(cfg.routing.max_hops, 3U);
    // Links are not the section's bind or connect: those keep their defaults.
    EXPECT_EQ(cfg.ingress.bind, default_config().ingress.bind);
    EXPECT_EQ(cfg.egress.bind, default_config().egress.bind);
}

TEST(config, link_mistakes_are_named) {
    EXPECT_EQ(
        error_of("egress:\n  forward: tcp://*:5555\n"),
        "test.yaml:2:12: egress.forward[0]: a connect endpoint needs a definite address, not a "
        "wildcard, got \"tcp://*:5555\"");
    EXPECT_EQ(
        error_of("egress:\n  forward_by: hash\n"),
        "test.yaml:2:15: egress.forward_by: expected one of topic, round_robin, got \"hash\"");
    EXPECT_EQ(error_of("routing:\n  max_hops: 0\n"),
              "test.yaml:2:13: routing.max_hops: expected an integer in [1, 255], got \"0\"");
    EXPECT_EQ(error_of("ingress:\n  subscribe_topics: {a: 1}\n"),
              "test.yaml:2:21: ingress.subscribe_topics: expected a topic prefix or a sequence "
              "of them, got a mapping");
    EXPECT_EQ(error_of("ingress:\n  subscribe_topics: [" + std::string(256, 'x') + "]\n"),
              "test.yaml:2:22: ingress.subscribe_topics[0]: a topic prefix is at most 255 bytes, "
              "got 256");
}

// A link to the relay's own socket would send every message round to itself.
TEST(config, a_link_to_the_relays_own_socket_is_refused) {
    EXPECT_EQ(error_of("egress:\n  forward: tcp://127.0.0.1:5555\n"),
              "test.yaml:2:12: egress.forward[0]: endpoint \"tcp://127.0.0.1:5555\" is also "
              "ingress.bind[0] (the default; set ingress.bind to move it)");
    EXPECT_EQ(error_of("ingress:\n  subscribe: [tcp://a:1, tcp://a:1]\n"),
              "test.yaml:2:26: ingress.subscribe[1]: endpoint \"tcp://a:1\" is also "
              "ingress.subscribe[0] (line 2)");
}

TEST(config, a_linked_relay_must_stamp) {
    EXPECT_EQ(error_of("egress:\n  stamp: false\n  forward: tcp://central:5555\n"),
              "test.yaml:3:12: egress.forward[0]: a relay linked to others must stamp "
              "(egress.stamp: true): loops and each hop's losses are found by it");
    EXPECT_NO_THROW(parse("egress:\n  stamp: false\n"));
}

// ---- errors: the format and structure -------------------------------------------------------

TEST(config, a_wrong_type_names_source_line_key_and_value) {
    EXPECT_EQ(
        error_of("# zrelay\n"
                 "ingress:\n"
                 "  rcvhwm: 10\n"
                 "\n"
                 "egress:\n"
                 "  nodrop: true\n"
                 "  sndhwm: lots\n"),
        "test.yaml:7:11: egress.sndhwm: expected an integer in [0, 2147483647], got \"lots\"");
}

TEST(config, an_unknown_top_level_key_suggests_the_likely_one) {
    const std::string e = error_of("workers: 1\nlog: {level: info}\nworkres: 4\n");
    EXPECT_EQ(e, "test.yaml:3:1: workres: unknown key; did you mean 'workers'?");
}

TEST(config, an_unknown_nested_key_suggests_the_likely_one) {
    const std::string e = error_of("egress:\n  bind: tcp://*:1\n  sndhmw: 10\n");
    EXPECT_EQ(e, "test.yaml:3:3: egress.sndhmw: unknown key; did you mean 'sndhwm'?");
    EXPECT_TRUE(starts_with(error_of("ingress:\n  max_msg_bytes: 10\n"),
                            "test.yaml:2:3: ingress.max_msg_bytes: unknown key; did you mean "
                            "'max_message_bytes'?"));
    EXPECT_EQ(error_of("egress:\n  conn: tcp://x:1\n"),
              "test.yaml:2:3: egress.conn: unknown key; did you mean 'connect'?");
    EXPECT_TRUE(starts_with(error_of("\nShutdown: {}\n"),
                            "test.yaml:2:1: Shutdown: unknown key; did you mean 'shutdown'?"));
}

TEST(config, an_unknown_key_unlike_any_lists_the_known_ones) {
    EXPECT_EQ(error_of("log:\n  colour: true\n"),
              "test.yaml:2:3: log.colour: unknown key; expected one of level, format");
    EXPECT_TRUE(
        starts_with(error_of("threads: 4\n"),
                    "test.yaml:1:1: threads: unknown key; expected one of ingress, egress"));
}

TEST(config, a_key_given_twice_is_an_error) {
    EXPECT_EQ(error_of("workers: 1\nlog: {}\nworkers: 2\n"),
              "test.yaml:3:1: workers: given twice (first on line 1)");
}

TEST(config, the_top_level_must_be_a_mapping) {
    EXPECT_TRUE(starts_with(error_of("- ingress\n- egress\n"),
                            "test.yaml:1:1: the top level must be a mapping"));
    EXPECT_TRUE(
        starts_with(error_of("\njust words\n"), "test.yaml:2:1: the top level must be a mapping"));
}

TEST(config, a_section_must_be_a_mapping) {
    EXPECT_EQ(error_of("workers: 1\ningress: tcp://*:5555\n"),
              "test.yaml:2:10: ingress: expected a mapping with keys bind, connect, subscribe, "
              "subscribe_topics, rcvhwm, "
              "max_message_bytes, got \"tcp://*:5555\"");
    EXPECT_TRUE(
        starts_with(error_of("log:\n  - level\n"), "test.yaml:2:3: log: expected a mapping"));
}

TEST(config, a_yaml_syntax_error_names_its_line) {
    // yaml-cpp reports where it gave up: for an unclosed bracket, the end of the text.
    EXPECT_TRUE(starts_with(error_of("ingress:\n  bind: [tcp://*:1,\n\negress: {}\n"),
                            "test.yaml:5:1: invalid YAML: "));
    EXPECT_TRUE(starts_with(error_of("workers: 1\nlog:\n  level: info\n    format: text\n"),
                            "test.yaml:4:11: invalid YAML: "));
    EXPECT_TRUE(
        starts_with(error_of("ingress:\n\tbind: tcp://*:1\n"), "test.yaml:2:6: invalid YAML: "));
}

TEST(config, an_alias_is_reported_where_it_is_used) {
    EXPECT_EQ(parse("ingress: {rcvhwm: &hwm 7}\negress: {sndhwm: *hwm}\n").egress.sndhwm, 7);
    EXPECT_EQ(error_of("workers: &n 3\nlog:\n  level: *n\n"),
              "test.yaml:3:3: log.level: expected one of trace, debug, info, warn, error, "
              "critical, off, got \"3\"");
}

TEST(config, more_than_one_document_is_an_error) {
    EXPECT_EQ(error_of("workers: 1\n---\nworkers: 2\n"),
              "test.yaml:3:1: expected one YAML document, found 2");
}

// ---- errors: all of them, each in its place ---------------------------------------------------

TEST(config, every_error_in_a_file_is_reported_with_its_line_and_column) {
    EXPECT_EQ(error_of("ingress:\n"
                       "  rcvhwm: lots\n"
                       "egress:\n"
                       "  sndhmw: 10\n"
                       "log: {level: loud}\n"),
              "test.yaml:2:11: ingress.rcvhwm: expected an integer in [0, 2147483647], got "
              "\"lots\"\n"
              "test.yaml:4:3: egress.sndhmw: unknown key; did you mean 'sndhwm'?\n"
              "test.yaml:5:14: log.level: expected one of trace, debug, info, warn, error, "
              "critical, off, got \"loud\"");
}

// Found last (after the whole file is read) but listed in the file's order.
TEST(config, errors_are_listed_in_the_files_order) {
    EXPECT_EQ(error_of("ingress:\n"
                       "  bind: [tcp://*:1, tcp://*:1]\n"
                       "workers: x\n"),
              "test.yaml:2:21: ingress.bind[1]: endpoint \"tcp://*:1\" is also ingress.bind[0] "
              "(line 2)\n"
              "test.yaml:3:10: workers: expected an integer in [0, 64], got \"x\"");
}

// A refused value is reported once, not again by the checks that would have used it.
TEST(config, a_refused_value_causes_no_errors_downstream) {
    EXPECT_EQ(error_of("ingress:\n  bind: [inproc://x]\n"),
              "test.yaml:2:10: ingress.bind[0]: inproc:// reaches only sockets inside one process, "
              "so no producer or subscriber could use it; only tcp:// and ipc:// are accepted, "
              "got \"inproc://x\"");
    EXPECT_EQ(error_of("security:\n  curve:\n    ingress: {secret_key_file: [k], allow: /a}\n"),
              "test.yaml:3:32: security.curve.ingress.secret_key_file: expected a file path, got "
              "a sequence");
}

TEST(config, lines_and_columns_count_from_1) {
    EXPECT_EQ(error_of("workres: 1\n"),
              "test.yaml:1:1: workres: unknown key; did you mean 'workers'?");
    EXPECT_TRUE(starts_with(error_of("\xff"), "test.yaml:1:1: not UTF-8 text"));
    EXPECT_TRUE(starts_with(error_of("# \xc3\xa9 \xff\n"), "test.yaml:1:6: not UTF-8 text"))
        << "columns count bytes, as yaml-cpp's do";
}

// ---- errors: values -------------------------------------------------------------------------

TEST(config, integers_out_of_range_are_errors) {
    EXPECT_EQ(error_of("workers: 65\n"), "test.yaml:1:10: workers: expected an integer in [0, 64], "
                                         "got \"65\"");
    EXPECT_EQ(error_of("ingress:\n  rcvhwm: -1\n"),
              "test.yaml:2:11: ingress.rcvhwm: expected an integer in [0, 2147483647], got \"-1\"");
    EXPECT_EQ(error_of("egress:\n  sndhwm: 2147483648\n"),
              "test.yaml:2:11: egress.sndhwm: expected an integer in [0, 2147483647], got "
              "\"2147483648\"");
    EXPECT_EQ(
        error_of("ingress:\n  max_message_bytes: 0\n"),
        "test.yaml:2:22: ingress.max_message_bytes: expected an integer in [1, 268435456], got "
        "\"0\"");
    EXPECT_TRUE(starts_with(error_of("ingress:\n  max_message_bytes: 268435457\n"),
                            "test.yaml:2:22: ingress.max_message_bytes: expected an integer in [1, "
                            "268435456]"));
    EXPECT_EQ(error_of("pipeline:\n  max_inflight: 0\n"),
              "test.yaml:2:17: pipeline.max_inflight: expected an integer in [1, 10000000], got "
              "\"0\"");
    EXPECT_TRUE(starts_with(error_of("pipeline: {max_inflight: 10000001}\n"),
                            "test.yaml:1:26: pipeline.max_inflight: expected an integer in [1, "
                            "10000000]"));
    EXPECT_EQ(error_of("shutdown:\n\n  drain_timeout_ms: 3600001\n"),
              "test.yaml:3:21: shutdown.drain_timeout_ms: expected an integer in [0, 3600000], got "
              "\"3600001\"");
    EXPECT_TRUE(starts_with(error_of("workers: 99999999999999999999999\n"),
                            "test.yaml:1:10: workers: expected an integer in [0, 64]"));
}

TEST(config, io_threads_are_1_to_16) {
    EXPECT_EQ(parse("io_threads: 1\n").io_threads, 1U);
    EXPECT_EQ(parse("io_threads: 16\n").io_threads, 16U);
    // 0 would be a context with no I/O thread: no socket could connect or bind.
    EXPECT_EQ(error_of("io_threads: 0\n"),
              "test.yaml:1:13: io_threads: expected an integer in [1, 16], got \"0\"");
    EXPECT_EQ(error_of("log: {}\nio_threads: 17\n"),
              "test.yaml:2:13: io_threads: expected an integer in [1, 16], got \"17\"");
    EXPECT_EQ(error_of("io_threads: -1\n"),
              "test.yaml:1:13: io_threads: expected an integer in [1, 16], got \"-1\"");
    EXPECT_EQ(error_of("io_threads: two\n"),
              "test.yaml:1:13: io_threads: expected an integer in [1, 16], got \"two\"");
    EXPECT_EQ(error_of("io_threads: 1.5\n"),
              "test.yaml:1:13: io_threads: expected an integer in [1, 16], got \"1.5\"");
    EXPECT_EQ(error_of("io_threads: [2]\n"),
              "test.yaml:1:13: io_threads: expected an integer in [1, 16], got a sequence");
    EXPECT_EQ(error_of("io_threads:\nworkers: 1\n"),
              "test.yaml:1:1: io_threads: expected an integer in [1, 16], got null");
    // It is a top-level key, next to workers, not a section.
    EXPECT_EQ(error_of("io_threads: 1\nio_threads: 2\n"),
              "test.yaml:2:1: io_threads: given twice (first on line 1)");
    EXPECT_EQ(error_of("pipeline: {io_threads: 2}\n"),
              "test.yaml:1:12: pipeline.io_threads: unknown key; expected one of max_inflight");
}

TEST(config, a_misspelt_io_threads_is_named) {
    EXPECT_EQ(error_of("io_thread: 2\n"),
              "test.yaml:1:1: io_thread: unknown key; did you mean 'io_threads'?");
    EXPECT_EQ(error_of("iothreads: 2\n"),
              "test.yaml:1:1: iothreads: unknown key; did you mean 'io_threads'?");
    EXPECT_EQ(error_of("io-threads: 2\n"),
              "test.yaml:1:1: io-threads: unknown key; did you mean 'io_threads'?");
}

TEST(config, integers_must_be_plain_decimal_integers) {
    for (const char *text : {"1.5", "2.0", "1e3", "0x10", "+2", "two", "\"\"", "[2]", "{n: 2}"}) {
        EXPECT_TRUE(starts_with(error_of(std::string("log: {}\nworkers: ") + text + "\n"),
                                "test.yaml:2:10: workers: expected an integer in [0, 64], got "))
            << text;
    }
    EXPECT_EQ(error_of("workers: 1.5\n"),
              "test.yaml:1:10: workers: expected an integer in [0, 64], got \"1.5\"");
    EXPECT_EQ(error_of("workers: [2]\n"),
              "test.yaml:1:10: workers: expected an integer in [0, 64], got a sequence");
}

TEST(config, a_null_value_is_an_error_on_the_key_line) {
    EXPECT_EQ(error_of("log: {}\nworkers:\nmetrics: {}\n"),
              "test.yaml:2:1: workers: expected an integer in [0, 64], got null");
    EXPECT_EQ(error_of("egress:\n  nodrop: ~\n"),
              "test.yaml:2:3: egress.nodrop: expected true or false, got null");
    EXPECT_EQ(error_of("log:\n  level:\n"),
              "test.yaml:2:3: log.level: expected one of trace, debug, info, warn, error, "
              "critical, off, got null");
    EXPECT_EQ(error_of("ingress:\n  bind:\n  connect: [tcp://x:1]\n"),
              "test.yaml:2:3: ingress.bind: expected an endpoint or a sequence of endpoints, got "
              "null (write [] for none)");
    EXPECT_EQ(error_of("routing:\n  default_topic: null\n"),
              "test.yaml:2:3: routing.default_topic: expected a string, got null");
}

TEST(config, booleans_are_true_or_false_only) {
    for (const char *text : {"yes", "no", "on", "off", "y", "1", "maybe"}) {
        EXPECT_EQ(error_of(std::string("egress:\n  nodrop: ") + text + "\n"),
                  std::string("test.yaml:2:11: egress.nodrop: expected true or false, got \"") +
                      text + "\"");
    }
}

// An error shows a value so that it cannot act on a terminal or break the line (C0 and C1
// controls, U+2028, U+FFFE escaped; other characters as written), and cuts a long one at a
// character, never inside one (the message stays UTF-8).
TEST(config, error_messages_show_values_escaped_and_cut_at_a_character) {
    const std::string prefix = "test.yaml:2:11: egress.nodrop: expected true or false, got ";
    EXPECT_EQ(error_of("egress:\n  nodrop: \"a\\x1b[31m\\u009b2J\\u2028caf\\u00e9 \\\"q\\\" \\\\ "
                       "\\ufffd\"\n"),
              prefix + "\"a\\x1b[31m\\u009b2J\\u2028caf\xc3\xa9 \\\"q\\\" \\\\ \xef\xbf\xbd\"");
    // 79 characters, then a two-byte one: shown whole, then cut.
    EXPECT_EQ(error_of("egress:\n  nodrop: " + std::string(79, 'x') + "\xc3\xa9tail\n"),
              prefix + "\"" + std::string(79, 'x') + "\xc3\xa9...\"");
}

// An unknown key is the user's text: shown escaped when it holds a control (a CR in a key,
// found by fuzzing, returned the cursor over the message), as written otherwise.
TEST(config, an_unknown_key_is_shown_escaped) {
    EXPECT_EQ(error_of("\"w\\rrkers\": 1\n"),
              "test.yaml:1:1: \"w\\x0drkers\": unknown key; did you mean 'workers'?");
    EXPECT_EQ(error_of("log:\n  \"le\\x1bvel\": info\n"),
              "test.yaml:2:3: log.\"le\\x1bvel\": unknown key; did you mean 'level'?");
    EXPECT_EQ(error_of("log:\n  colour: red\n"),
              "test.yaml:2:3: log.colour: unknown key; expected one of level, format");
}

// yaml-cpp's own messages may quote the input, or its end-of-stream marker (0x04, found by
// fuzzing): shown escaped, the marker named.
TEST(config, yaml_cpp_messages_are_shown_escaped) {
    EXPECT_EQ(error_of("\"rw \\"),
              "test.yaml:1:7: invalid YAML: unknown escape character: the end of the text");
    EXPECT_EQ(error_of("\"a\\q\"\n"), "test.yaml:1:5: invalid YAML: unknown escape character: q");
}

TEST(config, log_level_and_format_are_checked) {
    EXPECT_EQ(error_of("log:\n  level: loud\n"),
              "test.yaml:2:10: log.level: expected one of trace, debug, info, warn, error, "
              "critical, off, got \"loud\"");
    EXPECT_EQ(error_of("log:\n  level: debgu\n"),
              "test.yaml:2:10: log.level: expected one of trace, debug, info, warn, error, "
              "critical, off, got \"debgu\"; did you mean 'debug'?");
    EXPECT_EQ(error_of("log:\n  format: xml\n"),
              "test.yaml:2:11: log.format: expected one of text, json, got \"xml\"");
}

TEST(config, metrics_listen_needs_a_host_and_port) {
    const auto listen_error = [](const std::string &value) {
        return error_of("metrics:\n  listen: \"" + value + "\"\n");
    };
    for (const char *bad :
         {"9464", ":9464", "localhost", "localhost:0", "localhost:65536", "localhost:http",
          "*:9464", "::1:9464", "[::1]", "[zz]:80", "bad host:80"}) {
        const std::string e = listen_error(bad);
        EXPECT_TRUE(starts_with(e, "test.yaml:2:11: metrics.listen: ")) << bad;
        EXPECT_TRUE(contains(e, "(\"\" disables metrics)")) << bad;
    }
    EXPECT_EQ(listen_error("localhost:0"),
              "test.yaml:2:11: metrics.listen: invalid port \"0\" in \"localhost:0\"; expected "
              "1..65535 (\"\" disables metrics)");
    EXPECT_EQ(parse("metrics: {listen: \"0.0.0.0:1\"}").metrics.listen, "0.0.0.0:1");
    EXPECT_EQ(parse("metrics: {listen: \"[::1]:65535\"}").metrics.listen, "[::1]:65535");
    EXPECT_EQ(parse("metrics: {listen: \"metrics.internal:9464\"}").metrics.listen,
              "metrics.internal:9464");
}

TEST(config, a_topic_longer_than_255_bytes_is_an_error) {
    EXPECT_EQ(error_of("routing:\n  default_topic: " + std::string(256, 't') + "\n"),
              "test.yaml:2:18: routing.default_topic: a topic is at most 255 bytes, got 256");
    EXPECT_TRUE(starts_with(error_of("routing:\n  default_topic: [a]\n"),
                            "test.yaml:2:18: routing.default_topic: expected a string, got a "
                            "sequence"));
}

// ---- errors: endpoints ----------------------------------------------------------------------

TEST(config, only_tcp_and_ipc_endpoints_are_accepted) {
    const std::string e = error_of("ingress:\n  bind:\n    - tcp://*:5555\n    - inproc://relay\n");
    EXPECT_TRUE(starts_with(e, "test.yaml:4:7: ingress.bind[1]: inproc:// reaches only sockets"));
    EXPECT_TRUE(contains(e, "\"inproc://relay\""));
    EXPECT_EQ(error_of("egress:\n  connect: [pgm://eth0;239.192.1.1:5555]\n"),
              "test.yaml:2:13: egress.connect[0]: unsupported transport \"pgm\"; only tcp:// and "
              "ipc:// are accepted, got \"pgm://eth0;239.192.1.1:5555\"");
    EXPECT_TRUE(starts_with(error_of("egress:\n  bind: udp://*:5555\n"),
                            "test.yaml:2:9: egress.bind[0]: unsupported transport \"udp\""));
    EXPECT_EQ(error_of("ingress:\n  bind: [localhost:5555]\n"),
              "test.yaml:2:10: ingress.bind[0]: expected an endpoint like tcp://host:port or "
              "ipc:///path, got \"localhost:5555\"");
    EXPECT_TRUE(starts_with(error_of("ingress:\n  bind: [\"\"]\n"),
                            "test.yaml:2:10: ingress.bind[0]: expected an endpoint like"));
    EXPECT_TRUE(starts_with(error_of("ingress:\n  bind: [TCP://*:5555]\n"),
                            "test.yaml:2:10: ingress.bind[0]: unsupported transport \"TCP\""));
    EXPECT_EQ(error_of("ingress:\n  bind: [~]\n"),
              "test.yaml:2:9: ingress.bind[0]: expected an endpoint string, got null");
    EXPECT_EQ(error_of("ingress:\n  bind: {a: 1}\n"),
              "test.yaml:2:9: ingress.bind: expected an endpoint or a sequence of endpoints, got a "
              "mapping");
}

TEST(config, tcp_endpoints_need_a_valid_port) {
    const auto bind_error = [](const std::string &endpoint) {
        return error_of("egress:\n  bind: [\"" + endpoint + "\"]\n");
    };
    EXPECT_EQ(bind_error("tcp://localhost"),
              "test.yaml:2:10: egress.bind[0]: missing port in \"tcp://localhost\"; expected "
              "tcp://host:port");
    EXPECT_EQ(
        bind_error("tcp://*:0"),
        "test.yaml:2:10: egress.bind[0]: invalid port \"0\" in \"tcp://*:0\"; expected 1..65535 "
        "or *");
    for (const char *bad : {"tcp://*:65536", "tcp://*:", "tcp://*:http", "tcp://*:-1",
                            "tcp://:5555", "tcp://", "tcp://::1:5555", "tcp://[::1]",
                            "tcp://[::1:5555", "tcp://host name:5555", "tcp://eth0;host:5555"})
        EXPECT_TRUE(starts_with(bind_error(bad), "test.yaml:2:10: egress.bind[0]: ")) << bad;
}

TEST(config, ipc_endpoints_need_a_path_that_fits_sun_path) {
    EXPECT_EQ(error_of("ingress:\n  bind: [\"ipc://\"]\n"),
              "test.yaml:2:10: ingress.bind[0]: ipc:// needs a path, got \"ipc://\"");
    const std::string too_long = "ipc:///" + std::string(107, 'p');
    const std::string e = error_of("ingress:\n  bind: [\"" + too_long + "\"]\n");
    EXPECT_TRUE(starts_with(e,
                            "test.yaml:2:10: ingress.bind[0]: ipc path is 108 bytes, longer than "
                            "the 107 a Unix socket address holds (sun_path)"));
}

TEST(config, ipc_paths_may_not_hold_control_characters) {
    // Through YAML escapes: "\0" would end the C string zmq is given, early.
    EXPECT_EQ(error_of("ingress:\n  bind: [\"ipc:///tmp/a\\0b\"]\n"),
              "test.yaml:2:10: ingress.bind[0]: ipc path holds a control character, got "
              "\"ipc:///tmp/a\\x00b\"");
    EXPECT_TRUE(starts_with(error_of("egress:\n  bind: [\"ipc:///tmp/\\tx\"]\n"),
                            "test.yaml:2:10: egress.bind[0]: ipc path holds a control character"));
    EXPECT_TRUE(starts_with(error_of("egress:\n  connect: [\"ipc:///tmp/x\\x7f\"]\n"),
                            "test.yaml:2:13: egress.connect[0]: U+007F is not allowed in a value"));
}

TEST(config, non_ascii_utf8_ipc_paths_are_accepted_and_round_trip) {
    const config cfg = parse("ingress:\n  bind: [\"ipc:///tmp/r\xc3\xa9lais-\xe2\x82\xac\"]\n");
    EXPECT_EQ(cfg.ingress.bind, std::vector<std::string>{"ipc:///tmp/r\xc3\xa9lais-\xe2\x82\xac"});
    EXPECT_EQ(parse(to_yaml(cfg)), cfg);
}

TEST(config, connect_endpoints_cannot_be_wildcards) {
    EXPECT_EQ(
        error_of("ingress:\n  connect: [\"tcp://*:5555\"]\n"),
        "test.yaml:2:13: ingress.connect[0]: a connect endpoint needs a definite address, not "
        "a wildcard, got \"tcp://*:5555\"");
    EXPECT_TRUE(starts_with(error_of("egress:\n  connect: [\"tcp://host:*\"]\n"),
                            "test.yaml:2:13: egress.connect[0]: a connect endpoint needs"));
}

TEST(config, an_element_error_names_the_elements_own_line) {
    EXPECT_TRUE(starts_with(error_of("egress:\n"
                                     "  bind:\n"
                                     "    - tcp://*:1\n"
                                     "    - tcp://*:2\n"
                                     "    - tcp://*:x\n"),
                            "test.yaml:5:7: egress.bind[2]: invalid port"));
}

TEST(config, duplicate_endpoints_are_errors) {
    EXPECT_EQ(error_of("ingress:\n  bind:\n    - tcp://*:1\n    - tcp://*:1\n"),
              "test.yaml:4:7: ingress.bind[1]: endpoint \"tcp://*:1\" is also ingress.bind[0] "
              "(line 3)");
    EXPECT_EQ(error_of("egress:\n  bind: [ipc:///a]\n  connect: [ipc:///a]\n"),
              "test.yaml:3:13: egress.connect[0]: endpoint \"ipc:///a\" is also egress.bind[0] "
              "(line 2)");
    EXPECT_EQ(error_of("ingress:\n  bind: tcp://*:9\negress:\n  bind: tcp://*:9\n"),
              "test.yaml:4:9: egress.bind[0]: endpoint \"tcp://*:9\" is also ingress.bind[0] "
              "(line 2)");
}

TEST(config, an_endpoint_may_not_collide_with_a_default) {
    EXPECT_EQ(error_of("\negress:\n  bind: tcp://127.0.0.1:5555\n"),
              "test.yaml:3:9: egress.bind[0]: endpoint \"tcp://127.0.0.1:5555\" is also "
              "ingress.bind[0] (the default; set ingress.bind to move it)");
}

TEST(config, a_section_without_endpoints_is_an_error) {
    EXPECT_EQ(error_of("workers: 1\ningress:\n  bind: []\n"),
              "test.yaml:2:1: ingress: needs at least one bind or connect endpoint, got none");
    EXPECT_EQ(error_of("egress:\n  bind: []\n  connect: []\n"),
              "test.yaml:1:1: egress: needs at least one bind or connect endpoint, got none");
}

TEST(config, every_endpoint_form_zmq_can_use_is_accepted) {
    const std::vector<std::string> ok = {"tcp://*:5555",           "tcp://*:*",
                                         "tcp://127.0.0.1:1",      "tcp://host:65535",
                                         "tcp://eth0:5556",        "tcp://my-host.example.com:80",
                                         "tcp://[::1]:5557",       "tcp://[::]:5558",
                                         "ipc:///run/zrelay.sock", "ipc://@abstract"};
    std::string list;
    for (const std::string &e : ok)
        list += (list.empty() ? "" : ", ") + ("\"" + e + "\"");
    EXPECT_EQ(parse("egress: {bind: [" + list + "]}\n").egress.bind, ok);
}

TEST(config, a_relative_ipc_path_is_refused_naming_key_and_endpoint) {
    EXPECT_EQ(
        error_of("egress:\n  bind: [\"ipc://relative.sock\"]\n"),
        "test.yaml:2:10: egress.bind[0]: ipc path must be absolute (ipc:///run/zrelay/in.sock) "
        "or abstract (ipc://@name); a relative one depends on the working directory, got "
        "\"ipc://relative.sock\"");
    EXPECT_TRUE(starts_with(error_of("invalid:\n  dead_letter: ipc://dead.sock\n"),
                            "test.yaml:2:16: invalid.dead_letter[0]: ipc path must be absolute"));
}

// ---- files ----------------------------------------------------------------------------------

TEST(config, load_config_file_names_the_file_in_errors) {
    const temp_file file("zrelay-config-test-bad.yaml", "workers: 2\nlog:\n  level: shout\n");
    try {
        load_config_file(file.path());
        ADD_FAILURE() << "no config_error";
    } catch (const config_error &e) {
        EXPECT_TRUE(starts_with(e.what(), file.path() + ":3:10: log.level: expected one of"));
    }
}

TEST(config, load_config_file_reads_a_file) {
    const temp_file file("zrelay-config-test-good.yaml", "workers: 5\n");
    EXPECT_EQ(load_config_file(file.path()).workers, 5U);
}

TEST(config, an_unreadable_file_is_an_error_with_the_reason) {
    const std::string missing = testing::TempDir() + "/zrelay-config-test-no-such-file.yaml";
    try {
        load_config_file(missing);
        ADD_FAILURE() << "no config_error";
    } catch (const config_error &e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot read configuration file '" + missing + "': No such file or directory");
    }
    try {
        load_config_file(testing::TempDir());
        ADD_FAILURE() << "no config_error";
    } catch (const config_error &e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot read configuration file '" + testing::TempDir() + "': Is a directory");
    }
}

// The error load_config_file() throws for `path`, or a test failure.
std::string load_error(const std::string &path) {
    try {
        load_config_file(path);
    } catch (const config_error &e) {
        return e.what();
    }
    ADD_FAILURE() << "no config_error for " << path;
    return {};
}

TEST(config, a_file_of_up_to_1_mib_is_read_and_a_larger_one_refused) {
    // Comment lines, then one key: the whole file is parsed, not its first megabyte.
    std::string text(max_config_file_bytes - 12, '#');
    for (std::size_t i = 99; i < text.size(); i += 100)
        text[i] = '\n';
    text += "\nworkers: 4\n";
    ASSERT_EQ(text.size(), max_config_file_bytes);
    const temp_file at_cap("zrelay-config-test-1mib.yaml", text);
    EXPECT_EQ(load_config_file(at_cap.path()).workers, 4U);

    const temp_file over("zrelay-config-test-1mib-and-1.yaml", text + "#");
    EXPECT_EQ(load_error(over.path()),
              "cannot read configuration file '" + over.path() +
                  "': 1048577 bytes, more than the 1 MiB (1048576 bytes) limit");
}

TEST(config, only_regular_files_are_read) {
    EXPECT_EQ(load_error("/dev/null"),
              "cannot read configuration file '/dev/null': a character device, not a regular file "
              "(only regular files are read)");
    // A FIFO with no writer: refused at once, where reading it would wait for ever.
    const std::string fifo = testing::TempDir() + "/zrelay-config-test.fifo";
    std::filesystem::remove(fifo);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto loading = std::async(std::launch::async, [&] { return load_error(fifo); });
    if (loading.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
        ADD_FAILURE() << "load_config_file waits on a FIFO with no writer";
        ::close(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK)); // a writer: lets the reader go
    }
    EXPECT_EQ(loading.get(), "cannot read configuration file '" + fifo +
                                 "': a FIFO, not a regular file (only regular files are read)");
    std::filesystem::remove(fifo);
}

} // namespace
} // namespace zrelay

namespace zrelay {
namespace {

// YAML is Unicode text; yaml-cpp lets stray bytes through into values that to_yaml() could not
// print back (found by tests/fuzz/config_fuzz: tests/fuzz/findings had the input).
TEST(config, text_that_is_not_utf8_is_refused_naming_line_and_byte) {
    EXPECT_EQ(error_of("ingress:\n  bind: [ipc://\x8d\x8d/tmp/x]\n"),
              "test.yaml:2:16: not UTF-8 text: byte 0x8d at offset 24 (a YAML file must be UTF-8)");
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"\xc0\xaf", "0xc0"},         // overlong '/'
        {"\xe0\x80\xaf", "0xe0"},     // overlong, three bytes
        {"\xed\xa0\x80", "0xed"},     // a UTF-16 surrogate
        {"\xf4\x90\x80\x80", "0xf4"}, // past U+10FFFF
        {"\xf5\x80\x80\x80", "0xf5"}, // no such lead byte
        {"\xc3", "0xc3"},             // cut short at the end
        {"\xe2\x82x", "0xe2"},        // cut short in the middle
        {"\xff", "0xff"},
    };
    for (const auto &[bytes, shown] : bad)
        EXPECT_TRUE(contains(error_of("# " + bytes + "\nworkers: 1\n"),
                             "test.yaml:1:3: not UTF-8 text: byte " + shown + " at offset 2"))
            << testing::PrintToString(bytes);
    // A UTF-8 byte-order mark and four-byte characters are UTF-8.
    EXPECT_EQ(parse("\xef\xbb\xbf# \xf0\x9f\x93\xa8 \xf4\x8f\xbf\xbf\nworkers: 3\n").workers, 3U);
}

// YAML text holds printable characters, tabs and line breaks only (YAML 1.2, 5.1); yaml-cpp let a
// NUL through as a stray byte that to_yaml() printed back as U+FFFD (found by
// tests/fuzz/config_fuzz: a NUL inside an allow-list path).
TEST(config, characters_yaml_does_not_allow_are_refused_naming_line_and_code_point) {
    EXPECT_EQ(error_of(std::string("workers: 1\nsecurity:\n  ipc_group: ab\0c\n", 39)),
              "test.yaml:3:16: a character YAML does not allow, U+0000, at offset 36 (YAML text "
              "holds printable characters, tabs and line breaks only; write others escaped in a "
              "double-quoted string)");
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"\x01", "U+0001"},         {"\x1b", "U+001B"},     {"\x7f", "U+007F"},
        {"\xc2\x80", "U+0080"},     {"\xc2\x9f", "U+009F"}, {"\xef\xbf\xbe", "U+FFFE"},
        {"\xef\xbf\xbf", "U+FFFF"},
    };
    for (const auto &[bytes, shown] : bad)
        EXPECT_TRUE(
            contains(error_of("# " + bytes + "\nworkers: 1\n"),
                     "test.yaml:1:3: a character YAML does not allow, " + shown + ", at offset 2"))
            << testing::PrintToString(bytes);
    // Tab, CR LF line ends, NEL, no-break space, a byte-order mark, and the escaped form of a
    // control character in a double-quoted string are all YAML text.
    EXPECT_EQ(parse("# \xc2\x85 \xc2\xa0 \xef\xbb\xbf\r\nworkers:\t4\r\n").workers, 4U);
    EXPECT_EQ(parse("routing: {default_topic: \"a\\x01b\"}\n").routing.default_topic,
              std::string({'a', '\x01', 'b'}));
}

// Escapes can still put into a value what to_yaml() cannot write back (yaml-cpp's emitter writes
// DEL raw and U+FFFE/U+FFFF as U+FFFD): refused, naming key and character, in any string value.
TEST(config, values_that_could_not_be_written_back_are_refused) {
    EXPECT_EQ(error_of("routing: {default_topic: \"a\\x7fb\"}\n"),
              "test.yaml:1:26: routing.default_topic: U+007F is not allowed in a value (it cannot "
              "be written back by --check-config), got \"a\\x7fb\"");
    EXPECT_TRUE(starts_with(error_of("routing: {default_topic: \"a\\ufffe\"}\n"),
                            "test.yaml:1:26: routing.default_topic: U+FFFE is not allowed"));
    EXPECT_TRUE(starts_with(error_of("metrics: {listen: \"\\uffff:1\"}\n"),
                            "test.yaml:1:19: metrics.listen: U+FFFF is not allowed"));
    EXPECT_TRUE(starts_with(error_of("ingress: {bind: \"tcp://a\\x7f:1\"}\n"),
                            "test.yaml:1:17: ingress.bind[0]: U+007F is not allowed"));
    // What is allowed prints back as it was.
    const config cfg = parse("routing: {default_topic: \"a\\x01\\t\\u0085\\ufffd\\U0001F4A8\"}\n");
    EXPECT_EQ(parse(to_yaml(cfg)), cfg);
}

// yaml-cpp before 0.9.0 loops for ever in LoadAll on these (found by tests/fuzz/config_fuzz;
// jbeder/yaml-cpp#1040): the loader must refuse them at once, with its guard (yaml_text.cpp) or
// with a yaml-cpp that refuses them itself. Each runs in a thread the test gives 10 s.
TEST(config_yaml_cpp, input_that_hangs_yaml_cpp_is_refused_promptly) {
    for (const std::string text :
         {",", ", ,", "# a comment\n,", "---\n,", ",ngress:\n  bind: [ipc:///tmp/x]\n"}) {
        auto result = std::async(std::launch::async, [text] {
            try {
                (void)parse_config(text, "test.yaml");
                return std::string("accepted");
            } catch (const config_error &e) {
                return std::string(e.what());
            }
        });
        ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready)
            << testing::PrintToString(text) << " hangs";
        EXPECT_TRUE(contains(result.get(), ": invalid YAML: ")) << testing::PrintToString(text);
    }
}

TEST(config, the_security_section_is_read) {
    const config cfg = parse(R"(
security:
  curve:
    ingress: { secret_key_file: /etc/zrelay/in.key, allow: /etc/zrelay/producers }
    egress:
      secret_key_file: /etc/zrelay/out.key
      allow: /etc/zrelay/subscribers.txt
  handshake_timeout_ms: 2500
  ipc_mode: 0640
  ipc_group: zrelay-clients
)");
    EXPECT_EQ(cfg.security.ingress_curve,
              (curve_config{"/etc/zrelay/in.key", "/etc/zrelay/producers"}));
    EXPECT_EQ(cfg.security.egress_curve,
              (curve_config{"/etc/zrelay/out.key", "/etc/zrelay/subscribers.txt"}));
    EXPECT_EQ(cfg.security.handshake_timeout, std::chrono::milliseconds(2500));
    EXPECT_EQ(cfg.security.ipc_mode, 0640U);
    EXPECT_EQ(cfg.security.ipc_group, "zrelay-clients");
    const security_config defaults = default_config().security;
    EXPECT_FALSE(defaults.ingress_curve.enabled());
    EXPECT_FALSE(defaults.egress_curve.enabled());
    EXPECT_EQ(defaults.handshake_timeout, std::chrono::milliseconds(5000));
    EXPECT_EQ(defaults.ipc_mode, 0660U);
}

TEST(config, ipc_mode_is_octal_however_yaml_would_read_it) {
    EXPECT_EQ(parse("security: {ipc_mode: 0660}").security.ipc_mode, 0660U);
    EXPECT_EQ(parse("security: {ipc_mode: \"660\"}").security.ipc_mode, 0660U);
    EXPECT_EQ(parse("security: {ipc_mode: 0o600}").security.ipc_mode, 0600U);
    EXPECT_EQ(parse("security: {ipc_mode: 0777}").security.ipc_mode, 0777U);
    EXPECT_EQ(error_of("security:\n  ipc_mode: 0680\n"),
              "test.yaml:2:13: security.ipc_mode: expected an octal file mode from 0 to 0777 like "
              "0660, got \"0680\"");
    EXPECT_TRUE(starts_with(error_of("security:\n  ipc_mode: 04660\n"),
                            "test.yaml:2:13: security.ipc_mode: expected an octal file mode"));
    EXPECT_EQ(error_of("security:\n  ipc_mode: 0460\n"),
              "test.yaml:2:13: security.ipc_mode: the owner (zrelayd itself) needs read and write "
              "(0600), got \"0460\"");
    EXPECT_TRUE(starts_with(error_of("security:\n  ipc_group: \"a b\"\n"),
                            "test.yaml:2:14: security.ipc_group: expected a group name"));
}

TEST(config, half_a_curve_setup_is_an_error) {
    EXPECT_EQ(error_of("security:\n  curve:\n    ingress:\n      secret_key_file: /k\n"),
              "test.yaml:3:5: security.curve.ingress: secret_key_file is set but allow is not: "
              "give the file or directory of client public keys to let in");
    EXPECT_EQ(error_of("security:\n  curve:\n    egress: {allow: /a}\n"),
              "test.yaml:3:5: security.curve.egress: allow is set but secret_key_file is not: "
              "CURVE needs the server's secret key");
    EXPECT_TRUE(starts_with(error_of("security:\n  curve:\n    sideways: {allow: /a}\n"),
                            "test.yaml:3:5: security.curve.sideways: unknown key"));
    EXPECT_TRUE(
        starts_with(error_of("security:\n  curve:\n    ingress: {secret_key: /k}\n"),
                    "test.yaml:3:15: security.curve.ingress.secret_key: unknown key; did you "
                    "mean 'secret_key_file'?"));
    EXPECT_TRUE(starts_with(error_of("security:\n  handshake_timeout_ms: -1\n"),
                            "test.yaml:2:25: security.handshake_timeout_ms: expected an integer in "
                            "[0, 3600000]"));
}

TEST(config_reload, allow_lists_apply_live_where_curve_stays_on) {
    config running = default_config();
    running.security.ingress_curve = {"/k", "/old"};
    config next = running;
    next.security.ingress_curve.allow = "/new";
    next.security.egress_curve = {"/k2", "/a2"}; // turning CURVE on: a restart
    next.security.handshake_timeout = std::chrono::milliseconds(1);
    const config applied = with_live_changes(running, next);
    EXPECT_EQ(applied.security.ingress_curve.allow, "/new");
    EXPECT_FALSE(applied.security.egress_curve.enabled());
    EXPECT_EQ(applied.security.handshake_timeout, running.security.handshake_timeout);
    EXPECT_EQ(
        restart_only_changes(running, next),
        (std::vector<std::string>{"security.curve.egress.secret_key_file",
                                  "security.curve.egress.allow", "security.handshake_timeout_ms"}));
}

TEST(config_reload, only_log_and_shutdown_apply_live) {
    const config running = default_config();
    config next = running;
    next.log = {"debug", log_format::json};
    next.shutdown.drain_timeout = std::chrono::milliseconds(123);
    next.workers = 4;
    next.io_threads = 2;
    next.egress.nodrop = false;
    const config applied = with_live_changes(running, next);
    EXPECT_EQ(applied.log, next.log);
    EXPECT_EQ(applied.shutdown, next.shutdown);
    EXPECT_EQ(applied.workers, running.workers);
    EXPECT_EQ(applied.io_threads, running.io_threads);
    EXPECT_EQ(applied.egress, running.egress);
}

TEST(config_reload, names_every_key_that_needs_a_restart) {
    const config running = default_config();
    EXPECT_TRUE(restart_only_changes(running, running).empty());
    config next = running;
    next.log.level = "debug"; // live: not listed
    next.shutdown.drain_timeout = std::chrono::milliseconds(1);
    EXPECT_TRUE(restart_only_changes(running, next).empty());

    next.ingress.bind = {"tcp://127.0.0.1:7000"};
    next.ingress.connect = {"tcp://127.0.0.1:7001"};
    next.ingress.rcvhwm = 1;
    next.ingress.max_message_bytes = 1;
    next.egress.bind = {};
    next.egress.connect = {"ipc:///tmp/x"};
    next.egress.sndhwm = 1;
    next.egress.nodrop = false;
    next.workers = 3;
    next.io_threads = 2;
    next.pipeline.max_inflight = 1;
    next.routing.default_topic = "d";
    next.metrics.listen = "";
    next.egress.stamp = false;
    next.egress.max_topics = 1;
    next.egress.drop_notices = false;
    next.invalid = {"tcp://*:7777", 1};
    next.metrics.max_topic_labels = 1;
    EXPECT_EQ(restart_only_changes(running, next),
              (std::vector<std::string>{
                  "ingress.bind", "ingress.connect", "ingress.rcvhwm", "ingress.max_message_bytes",
                  "egress.bind", "egress.connect", "egress.sndhwm", "egress.nodrop", "egress.stamp",
                  "egress.max_topics", "egress.drop_notices", "workers", "io_threads",
                  "pipeline.max_inflight", "routing.default_topic", "invalid.dead_letter",
                  "invalid.dead_letter_hwm", "metrics.listen", "metrics.max_topic_labels"}));
    // Alone too: the context's size is fixed when the relay is built.
    config more_io = running;
    more_io.io_threads = 4;
    EXPECT_EQ(restart_only_changes(running, more_io), std::vector<std::string>{"io_threads"});
}

// ---- issue 7: stamps, dead letters, per-topic metrics ----------------------------------------

TEST(config, the_relays_own_topic_cannot_be_the_default_topic) {
    const auto e = error_of("routing: { default_topic: \"$zrelay/drops\" }\n");
    EXPECT_TRUE(contains(e, "test.yaml:1:27: routing.default_topic")) << e;
    EXPECT_TRUE(contains(e, "$zrelay/drops")) << e;
    // The rest of $zrelay/ is free (the healthcheck's canaries use $zrelay/health/).
    EXPECT_EQ(parse("routing: { default_topic: \"$zrelay/other\" }").routing.default_topic,
              "$zrelay/other");
}

TEST(config, the_dead_letter_endpoint_is_checked_like_any_other) {
    EXPECT_TRUE(
        contains(error_of("invalid: { dead_letter: \"udp://x:1\" }"), "invalid.dead_letter[0]"));
    EXPECT_TRUE(contains(error_of("invalid: { dead_letter: [tcp://*:1, tcp://*:2] }"),
                         "invalid.dead_letter: expected \"\" (none) or one endpoint"));
    // It binds: the same address as an ingress or egress bind can never work.
    const auto e = error_of("invalid: { dead_letter: \"tcp://127.0.0.1:5556\" }");
    EXPECT_TRUE(contains(e, "invalid.dead_letter[0]: endpoint \"tcp://127.0.0.1:5556\" is also "
                            "egress.bind[0]"))
        << e;
    EXPECT_EQ(parse("invalid: { dead_letter: \"\" }").invalid.dead_letter, "");
}

TEST(config, topic_bounds_are_checked) {
    EXPECT_TRUE(contains(error_of("egress: { max_topics: 0 }"),
                         "egress.max_topics: expected an integer in [1, 1000000]"));
    EXPECT_TRUE(contains(error_of("metrics: { max_topic_labels: 10001 }"),
                         "metrics.max_topic_labels: expected an integer in [0, 10000]"));
    EXPECT_TRUE(
        contains(error_of("egress: { stamp: yes }"), "egress.stamp: expected true or false"));
}

} // namespace
} // namespace zrelay
