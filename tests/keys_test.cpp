// keys: key files as the relay reads them and as keygen writes them.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zmq.h>

#include "errors.hpp"
#include "keys.hpp"

using namespace zrelay;
namespace fs = std::filesystem;

namespace {

// A private directory per test, removed at the end.
class keys_test : public testing::Test {
protected:
    void SetUp() override {
        _dir = fs::path(testing::TempDir()) /
               ("zrelay-keys-" +
                std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(_dir);
        fs::create_directories(_dir);
    }
    void TearDown() override { fs::remove_all(_dir); }

    std::string write(const std::string &name, const std::string &text, mode_t mode = 0600) {
        const fs::path path = _dir / name;
        fs::create_directories(path.parent_path());
        std::ofstream(path) << text;
        ::chmod(path.c_str(), mode);
        return path.string();
    }

    std::string error_of(const std::function<void()> &f) {
        try {
            f();
        } catch (const config_error &e) {
            return e.what();
        }
        ADD_FAILURE() << "no config_error";
        return {};
    }

    fs::path _dir;
};

} // namespace

TEST_F(keys_test, a_generated_pair_matches_and_is_z85) {
    const curve_keypair pair = generate_curve_keypair();
    EXPECT_TRUE(is_z85_key(pair.public_key));
    EXPECT_TRUE(is_z85_key(pair.secret_key));
    char derived[41] = {};
    ASSERT_EQ(zmq_curve_public(derived, pair.secret_key.c_str()), 0);
    EXPECT_EQ(pair.public_key, derived);
    EXPECT_NE(generate_curve_keypair().secret_key, pair.secret_key);
}

TEST_F(keys_test, is_z85_key_wants_40_characters_of_the_alphabet) {
    EXPECT_TRUE(is_z85_key(std::string(40, '#')));
    EXPECT_FALSE(is_z85_key(std::string(39, 'a')));
    EXPECT_FALSE(is_z85_key(std::string(41, 'a')));
    EXPECT_FALSE(is_z85_key(std::string(39, 'a') + "~")); // not in Z85
    EXPECT_FALSE(is_z85_key(std::string(39, 'a') + " "));
}

TEST_F(keys_test, keygen_files_load_back_with_their_modes) {
    const std::string prefix = (_dir / "relay").string();
    const curve_keypair pair = write_keypair_files(prefix);
    struct stat st {};
    ASSERT_EQ(::stat((prefix + ".key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777U, 0600U);
    ASSERT_EQ(::stat((prefix + ".pub").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777U, 0644U);
    const curve_keypair loaded = load_secret_key_file(prefix + ".key");
    EXPECT_EQ(loaded.secret_key, pair.secret_key);
    EXPECT_EQ(loaded.public_key, pair.public_key);
    EXPECT_EQ(load_allow_list(prefix + ".pub"), std::vector<std::string>{pair.public_key});
    // Never overwritten.
    EXPECT_THROW((void)write_keypair_files(prefix), std::runtime_error);
    EXPECT_EQ(load_secret_key_file(prefix + ".key").secret_key, pair.secret_key);
}

TEST_F(keys_test, a_secret_key_open_to_group_or_others_is_refused) {
    const curve_keypair pair = generate_curve_keypair();
    for (const mode_t mode : {0640, 0604, 0620, 0660, 0644}) {
        const std::string path = write("k.key", pair.secret_key + "\n", mode);
        const std::string e = error_of([&] { (void)load_secret_key_file(path); });
        EXPECT_NE(e.find("secret key file '" + path + "' is open to its group or others"),
                  std::string::npos)
            << e;
        EXPECT_NE(e.find("chmod 600"), std::string::npos) << e;
    }
    EXPECT_EQ(load_secret_key_file(write("k.key", pair.secret_key, 0400)).secret_key,
              pair.secret_key);
}

TEST_F(keys_test, a_secret_key_file_holds_exactly_one_key) {
    const curve_keypair a = generate_curve_keypair();
    const curve_keypair b = generate_curve_keypair();
    EXPECT_NE(error_of([&] {
                  (void)load_secret_key_file(write("two.key", a.secret_key + "\n" + b.secret_key));
              }).find("must hold exactly one key, found 2"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  (void)load_secret_key_file(write("none.key", "# empty\n"));
              }).find("found 0"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  (void)load_secret_key_file((_dir / "missing.key").string());
              }).find("No such file or directory"),
              std::string::npos);
    EXPECT_NE(
        error_of([&] { (void)load_secret_key_file(_dir.string()); }).find("is not a regular file"),
        std::string::npos);
}

TEST_F(keys_test, key_files_take_comments_and_name_the_bad_line) {
    const curve_keypair a = generate_curve_keypair();
    const curve_keypair b = generate_curve_keypair();
    const std::string path =
        write("allow.txt", "# producers\n\n  " + a.public_key + "   # host a\n" + b.public_key +
                               "\r\n" + a.public_key + "\n");
    EXPECT_EQ(load_allow_list(path), (std::vector<std::string>{a.public_key, b.public_key}));
    const std::string bad = write("bad.txt", "# ok\n" + a.public_key + "\nnot-a-key\n");
    EXPECT_EQ(error_of([&] { (void)load_allow_list(bad); }),
              bad + ":3: expected a CURVE key (40 characters of Z85) or a # comment, got a "
                    "9-character word");
}

TEST_F(keys_test, an_allow_list_directory_reads_its_regular_files_in_order) {
    const curve_keypair a = generate_curve_keypair();
    const curve_keypair b = generate_curve_keypair();
    const curve_keypair hidden = generate_curve_keypair();
    write("allow/b.pub", b.public_key + "\n", 0644);
    write("allow/a.pub", a.public_key + "\n", 0644);
    write("allow/.hidden.pub", hidden.public_key + "\n", 0644);
    fs::create_directories(_dir / "allow/sub");
    EXPECT_EQ(load_allow_list((_dir / "allow").string()),
              (std::vector<std::string>{a.public_key, b.public_key}));
}

TEST_F(keys_test, a_world_writable_allow_list_is_refused) {
    const curve_keypair a = generate_curve_keypair();
    const std::string file = write("allow.txt", a.public_key + "\n", 0666);
    EXPECT_NE(error_of([&] { (void)load_allow_list(file); }).find("is writable by anyone"),
              std::string::npos);
    const std::string inside = write("dir/a.pub", a.public_key + "\n", 0646);
    EXPECT_NE(error_of([&] {
                  (void)load_allow_list((_dir / "dir").string());
              }).find("allow-list file '" + inside + "' is writable by anyone"),
              std::string::npos);
    ::chmod(inside.c_str(), 0644);
    ::chmod((_dir / "dir").c_str(), 0777);
    EXPECT_NE(error_of([&] {
                  (void)load_allow_list((_dir / "dir").string());
              }).find("is writable by anyone"),
              std::string::npos);
}
