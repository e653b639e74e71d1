#include "keys.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <zmq.h>

#include "errors.hpp"

namespace zrelay {
namespace {

constexpr std::string_view z85_alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                                          "TUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

std::string mode_text(mode_t mode) {
    return fmt::format("{:04o}", static_cast<unsigned>(mode & 07777U));
}

struct stat stat_of(const std::string &path, std::string_view what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw config_error("cannot read " + std::string(what) + " '" + path +
                           "': " + std::generic_category().message(errno));
    return st;
}

std::string read_text(const std::string &path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw config_error("cannot read " + std::string(what) + " '" + path +
                           "': " + std::generic_category().message(errno != 0 ? errno : EIO));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The keys of a key file's text, with the line each is on; throws naming `path`:line.
std::vector<std::pair<std::string, int>> parse_keys(const std::string &text,
                                                    const std::string &path) {
    std::vector<std::pair<std::string, int>> keys;
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos)
            continue;
        const auto end = line.find_first_of(" \t\r", first);
        const std::string word =
            line.substr(first, end == std::string::npos ? std::string::npos : end - first);
        if (is_z85_key(word)) {
            keys.emplace_back(word, number);
            continue;
        }
        if (line[first] == '#')
            continue;
        throw config_error(path + ":" + std::to_string(number) +
                           ": expected a CURVE key (40 characters of Z85) or a # comment, got a " +
                           std::to_string(word.size()) + "-character word");
    }
    return keys;
}

void refuse_others_writing(const std::string &path, const struct stat &st, std::string_view what) {
    if ((st.st_mode & S_IWOTH) != 0)
        throw config_error(std::string(what) + " '" + path + "' is writable by anyone (mode " +
                           mode_text(st.st_mode) +
                           "), so anyone could add a key to it; chmod o-w it");
}

void write_new_file(const std::string &path, const std::string &text, mode_t mode) {
    // O_EXCL: a key pair is never overwritten by accident. The mode is set at creation, so the
    // secret key is never readable by others, not even for a moment.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        throw std::runtime_error("cannot create '" + path +
                                 "': " + std::generic_category().message(errno));
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int error = errno;
            ::close(fd);
            throw std::runtime_error("cannot write '" + path +
                                     "': " + std::generic_category().message(error));
        }
        written += static_cast<std::size_t>(n);
    }
    // The umask may have taken bits away at creation; say exactly what was meant.
    if (::fchmod(fd, mode) != 0 || ::close(fd) != 0)
        throw std::runtime_error("cannot write '" + path +
                                 "': " + std::generic_category().message(errno));
}

} // namespace

bool is_z85_key(std::string_view text) noexcept {
    return text.size() == z85_key_chars && std::all_of(text.begin(), text.end(), [](char c) {
               return z85_alphabet.find(c) != std::string_view::npos;
           });
}

curve_keypair generate_curve_keypair() {
    std::array<char, z85_key_chars + 1> public_key{};
    std::array<char, z85_key_chars + 1> secret_key{};
    if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0)
        throw std::runtime_error(std::string("cannot make a CURVE key pair: ") +
                                 zmq_strerror(zmq_errno()) +
                                 " (this libzmq was built without CURVE)");
    return {public_key.data(), secret_key.data()};
}

curve_keypair load_secret_key_file(const std::string &path) {
    const struct stat st = stat_of(path, "secret key file");
    if (!S_ISREG(st.st_mode))
        throw config_error("secret key file '" + path + "' is not a regular file");
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        throw config_error("secret key file '" + path + "' is open to its group or others (mode " +
                           mode_text(st.st_mode) +
                           "); make it readable by its owner only: " + "chmod 600 '" + path + "'");
    const auto keys = parse_keys(read_text(path, "secret key file"), path);
    if (keys.size() != 1)
        throw config_error("secret key file '" + path + "' must hold exactly one key, found " +
                           std::to_string(keys.size()));
    curve_keypair pair;
    pair.secret_key = keys.front().first;
    std::array<char, z85_key_chars + 1> public_key{};
    if (zmq_curve_public(public_key.data(), pair.secret_key.c_str()) != 0)
        throw config_error("secret key file '" + path +
                           "': cannot derive the public key: " + zmq_strerror(zmq_errno()));
    pair.public_key = public_key.data();
    return pair;
}

std::vector<std::string> load_allow_list(const std::string &path) {
    const struct stat st = stat_of(path, "allow-list");
    refuse_others_writing(path, st, "allow-list");
    std::vector<std::string> files;
    if (S_ISDIR(st.st_mode)) {
        std::error_code error;
        for (const auto &item : std::filesystem::directory_iterator(path, error)) {
            const std::string name = item.path().filename().string();
            if (name.starts_with('.') || !item.is_regular_file(error))
                continue;
            files.push_back(item.path().string());
        }
        if (error)
            throw config_error("cannot read allow-list directory '" + path +
                               "': " + error.message());
        std::sort(files.begin(), files.end()); // a stable order for logs and tests
    } else if (S_ISREG(st.st_mode)) {
        files.push_back(path);
    } else {
        throw config_error("allow-list '" + path + "' is neither a file nor a directory");
    }
    std::vector<std::string> keys;
    for (const auto &file : files) {
        if (file != path)
            refuse_others_writing(file, stat_of(file, "allow-list file"), "allow-list file");
        for (auto &[key, line] : parse_keys(read_text(file, "allow-list file"), file))
            if (std::find(keys.begin(), keys.end(), key) == keys.end())
                keys.push_back(std::move(key));
    }
    return keys;
}

std::string secret_key_file_text(const curve_keypair &pair) {
    return "# zrelay CURVE secret key. Keep it readable by its owner only (chmod 600).\n"
           "# Its public key: " +
           pair.public_key + "\n" + pair.secret_key + "\n";
}

std::string public_key_file_text(const curve_keypair &pair) {
    return "# zrelay CURVE public key: for an allow-list, or a client's ZMQ_CURVE_SERVERKEY.\n" +
           pair.public_key + "\n";
}

curve_keypair write_keypair_files(const std::string &prefix) {
    curve_keypair pair = generate_curve_keypair();
    write_new_file(prefix + ".key", secret_key_file_text(pair), S_IRUSR | S_IWUSR);
    write_new_file(prefix + ".pub", public_key_file_text(pair),
                   S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH);
    return pair;
}

} // namespace zrelay
